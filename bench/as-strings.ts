// Decoding an AssemblyScript string (env.abort's message and file, sdk/ABI.md §6): host/abi/guest.ts's
// readAsString against the __liftString that `asc --bindings raw` (assemblyscript 0.28.20) generates, the
// successor of @assemblyscript/loader's __getString, which is not installed here. Not part of `make bench`:
// `node dist/bench/as-strings.js` prints ns per decode for a short message and a 4,096-character one.

import { readAsString } from "../host/abi/guest.js";

const memory = new WebAssembly.Memory({ initial: 2 });
const PTR = 1024;

/** As asc 0.28.20 `--bindings raw` generates it (no bounds checks: a bad length throws inside the import). */
function liftString(pointer: number): string | null {
  if (!pointer) return null;
  const end = (pointer + new Uint32Array(memory.buffer)[(pointer - 4) >>> 2]!) >>> 1;
  const memoryU16 = new Uint16Array(memory.buffer);
  let start = pointer >>> 1;
  let string = "";
  while (end - start > 1024) string += String.fromCharCode(...memoryU16.subarray(start, (start += 1024)));
  return string + String.fromCharCode(...memoryU16.subarray(start, end));
}

function put(s: string): void {
  new Uint32Array(memory.buffer)[(PTR - 4) >>> 2] = s.length * 2;
  const u16 = new Uint16Array(memory.buffer);
  for (let i = 0; i < s.length; i++) u16[(PTR >>> 1) + i] = s.charCodeAt(i);
}

function nsPerCall(f: () => unknown, n: number): number {
  for (let i = 0; i < n / 10; i++) f();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t) / n;
}

for (const [label, s] of [["56 chars", "index out of range in assembly/index.ts: header x-canary"], ["4,096 chars", "é".repeat(4096)]] as const) {
  put(s);
  if (readAsString(memory, PTR) !== s || liftString(PTR) !== s) throw new Error(`the two decoders disagree on ${label}`);
  const hand = nsPerCall(() => readAsString(memory, PTR), 100_000);
  const lift = nsPerCall(() => liftString(PTR), 20_000);
  console.log(`${label}: host/abi/guest.ts readAsString ${hand.toFixed(0)} ns, asc bindings __liftString ${lift.toFixed(0)} ns per decode`);
}

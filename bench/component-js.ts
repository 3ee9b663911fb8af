// The JavaScript guest (plugins/header-canary-js: StarlingMonkey through componentize-js 0.19.3, see the
// Makefile) per call and its memory over many calls, through the host's loader and sandbox (the harness).
// `make bench` does not run it:
//   node dist/bench/component-js.js [bundle-dir] [calls]
// prints, every tenth of the calls, ns per route call and, after a full GC of the host's heap, the guest's
// linear memory (each core instance's memory: SpiderMonkey's heap and malloc live there, and a wasm memory
// never shrinks) with how much of it is resident (its mapping's Rss in /proc/self/smaps: V8 maps a wasm
// memory's pages on first touch), the host's heapUsed, external and arrayBuffers (process.memoryUsage()), and
// RSS; then the verdicts: levelled when the last three checkpoints are within LEVEL_MIB of each other.

import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { loadBundle, type HostSpec } from "../sdk/harness/index.js";

/** The spread (MiB) the last three checkpoints may have for the memory to count as levelled. */
export const LEVEL_MIB = 4;

// A full GC between checkpoints, so that the host's figures are what is held, not what is not yet collected.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const dir = process.argv[2] ?? "build/component-plugins/header-canary-js";
const calls = Number(process.argv[3] ?? 100_000);
const hosts: HostSpec[] = Array.from({ length: 100 }, (_, i) => ({ address: `127.0.${i >> 8}.${i & 255}:80`, weight: 1, tags: { version: i % 10 === 0 ? "canary" : "v1" }, healthy: true }));
const headers: Record<string, string> = { "x-canary": "1" };
for (let i = 0; i < 9; i++) headers[`x-h${i}`] = "v".repeat(20);

interface Checkpoint {
  calls: number;
  nsPerCall: number | null;
  linear: number;
  /** The resident part of the linear memory; null when its mapping is not found (not Linux, or ambiguous). */
  resident: number | null;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

const MiB = 2 ** 20;

/**
 * The Rss of the private anonymous mappings of exactly `bytes` (the mapping V8 made for a wasm memory of that
 * size); null unless exactly one such mapping exists.
 */
function residentOf(bytes: number): number | null {
  let smaps: string;
  try {
    smaps = readFileSync("/proc/self/smaps", "utf8");
  } catch {
    return null;
  }
  let size = -1;
  const found: number[] = [];
  for (const line of smaps.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0\s*$/.exec(line);
    if (m) size = parseInt(m[2]!, 16) - parseInt(m[1]!, 16);
    else if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) size = -1;
    else if (size === bytes && line.startsWith("Rss:")) found.push(Number(line.split(/\s+/)[1]) * 1024);
  }
  return found.length === 1 ? found[0]! : null;
}
const p = await loadBundle(dir);
const rows: Checkpoint[] = [];
function checkpoint(done: number, nsPerCall: number | null): void {
  gc();
  const m = process.memoryUsage();
  const sizes = p.linearMemoryBytes;
  const linear = sizes.reduce((a, b) => a + b, 0);
  const each = sizes.map(residentOf);
  const resident = each.some((r) => r === null) ? null : each.reduce((a, b) => a! + b!, 0)! / MiB;
  rows.push({ calls: done, nsPerCall, linear: linear / MiB, resident, heapUsed: m.heapUsed / MiB, external: m.external / MiB, arrayBuffers: m.arrayBuffers / MiB, rss: m.rss / MiB });
}

checkpoint(0, null);
const step = Math.max(1, Math.floor(calls / 10));
let t = process.hrtime.bigint();
for (let i = 1; i <= calls; i++) {
  p.route({ headers: i % 2 === 0 ? headers : { "x-h0": "a" } }, hosts);
  if (i % step === 0 || i === calls) {
    const now = process.hrtime.bigint();
    checkpoint(i, Number(now - t) / (i - rows[rows.length - 1]!.calls));
    t = now;
  }
}

const f = (x: number) => x.toFixed(1);
console.log(`${dir}: ${calls} route calls (10 headers or 1 by turns, 100 hosts), memory in MiB after a full GC of the host's heap`);
console.log("| calls | ms/call | guest linear memory | of it resident | heapUsed | external | arrayBuffers | RSS |");
console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(`| ${r.calls} | ${r.nsPerCall === null ? "–" : (r.nsPerCall / 1e6).toFixed(2)} | ${f(r.linear)} | ${r.resident === null ? "–" : f(r.resident)} | ${f(r.heapUsed)} | ${f(r.external)} | ${f(r.arrayBuffers)} | ${f(r.rss)} |`);
}
const last = rows.slice(-3);
function verdict(what: string, pick: (r: Checkpoint) => number | null): string {
  const v = last.map(pick);
  if (last.length < 3 || v.some((x) => x === null)) return `${what}: not measured at three checkpoints`;
  const spread = Math.max(...(v as number[])) - Math.min(...(v as number[]));
  const ok = spread <= LEVEL_MIB;
  return `${what} ${ok ? "levelled" : "NOT levelled"}: ${f(spread)} MiB apart over the last three checkpoints (${last.map((r) => r.calls).join(", ")} calls; levelled: within ${LEVEL_MIB} MiB)`;
}
console.log(verdict("guest linear memory", (r) => r.linear));
console.log(verdict("its resident part", (r) => r.resident));
console.log(verdict("host heap (heapUsed + external − guest linear memory)", (r) => r.heapUsed + r.external - r.linear));
console.log(verdict("RSS", (r) => r.rss));

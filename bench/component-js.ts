// The JavaScript guest (plugins/header-canary-js, StarlingMonkey through jco componentize) per call and its
// RSS over many calls, through the host's loader and sandbox (the harness). `make bench` does not run it:
//   node dist/bench/component-js.js [bundle-dir] [calls]
// prints ns per route call and RSS every tenth of the calls, to see whether the memory levels off.

import { loadBundle, type HostSpec } from "../sdk/harness/index.js";

const dir = process.argv[2] ?? "build/component-plugins/header-canary-js";
const calls = Number(process.argv[3] ?? 100_000);
const hosts: HostSpec[] = Array.from({ length: 100 }, (_, i) => ({ address: `127.0.${i >> 8}.${i & 255}:80`, weight: 1, tags: { version: i % 10 === 0 ? "canary" : "v1" }, healthy: true }));
const headers: Record<string, string> = { "x-canary": "1" };
for (let i = 0; i < 9; i++) headers[`x-h${i}`] = "v".repeat(20);

const p = await loadBundle(dir);
const mib = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
console.log(`loaded ${dir}; rss ${mib()} MiB`);
let t = process.hrtime.bigint();
const step = Math.max(1, Math.floor(calls / 10));
for (let i = 1; i <= calls; i++) {
  p.route({ headers: i % 2 === 0 ? headers : { "x-h0": "a" } }, hosts);
  if (i % step === 0) {
    const now = process.hrtime.bigint();
    console.log(`${i} calls: ${(Number(now - t) / step).toFixed(0)} ns/call, rss ${mib()} MiB`);
    t = now;
  }
}

// Chain microbenchmark (issue 2): ns per request for one plugin and for the chain of the three first example
// plugins, at 10 headers × 100 / 1,000 / 10,000 hosts, against the same rules in plain TypeScript and against
// the host with no plugins. Rounds are interleaved and medians reported. "canary off" is the common request
// (the header says 0): header-canary then keeps every host but the canaries.

import { join } from "node:path";
import { HostStatus, type ClusterSnapshot, type Host } from "../host/cluster/types.js";
import { loadBundle } from "../host/plugin/bundle.js";
import { PluginChain } from "../host/plugin/chain.js";
import { TableRegistry } from "../host/plugin/table-registry.js";
import { RouterPlugin } from "../host/plugin/plugin.js";
import { sandboxOptions } from "../host/sandbox/options.js";
import type { RequestParts } from "../host/abi/codec.js";
import { TagIndex, canary, chainOfThree } from "./rules.js";
import { median, table, timeNs } from "./stats.js";

export const CHAIN_PLUGINS = ["header-canary", "zone-affinity", "version-split"] as const;

/** One host in CANARY_EVERY is a canary: 2%, a realistic canary share. */
export const CANARY_EVERY = 50;
export const ZONES = 4;

export function makeSnapshot(n: number, id: number): ClusterSnapshot {
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    const version = i % CANARY_EVERY === 0 ? "canary" : i % 2 ? "v1" : "v2";
    hosts.push({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`, hostname: undefined, weight: 1 + (i % 3), healthy: i % 17 !== 0, tags: { version, zone: `z${i % ZONES}`, env: "prod" }, status: HostStatus.Available, pending: 0 });
  }
  return { cluster: `bench-${n}`, version: 1, id, hosts };
}

/** Ten realistic headers (~330 bytes), the three the rules read among them. */
export function makeRequest(canaryOn: boolean): RequestParts {
  return {
    method: "GET",
    path: "/api/v1/orders?limit=20",
    authority: "shop.example.com",
    rawHeaders: [
      "Host", "shop.example.com",
      "User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
      "Accept", "application/json, text/plain, */*",
      "Accept-Encoding", "gzip, deflate, br",
      "Accept-Language", "en-US,en;q=0.9",
      "X-Request-Id", "5f2b8c1e-7a4d-4e9b-9c3f-1d2e3f4a5b6c",
      "X-Canary", canaryOn ? "1" : "0",
      "X-Zone", "z1",
      "X-User", "user-12345",
      "Cookie", "session=abcdef0123456789; theme=dark",
    ],
  };
}

export interface ChainRow {
  hosts: number;
  case: string;
  nsPerRequest: number;
}

export async function benchChain(bundlesDir: string, opts: { rounds?: number; hostCounts?: number[] } = {}): Promise<ChainRow[]> {
  const rounds = opts.rounds ?? 7;
  const tables = new TableRegistry();
  const plugins = await Promise.all(CHAIN_PLUGINS.map(async (n) => RouterPlugin.create(await loadBundle(join(bundlesDir, n)), undefined, 0)));
  const drain = RouterPlugin.create(await loadBundle(join(bundlesDir, "drain")), undefined, 0);
  const none = new PluginChain([], tables);
  const fixed = new PluginChain([drain], tables);
  const one = new PluginChain([plugins[0]!], tables);
  const three = new PluginChain(plugins, tables);
  // As `switchyard run` runs them: fuel-metered and memory-capped by the sandbox, no steps kept.
  const sandbox = sandboxOptions();
  const boxed = await Promise.all(CHAIN_PLUGINS.map(async (n) => RouterPlugin.create(await loadBundle(join(bundlesDir, n), sandbox), undefined, 0, { guard: sandbox.guard! })));
  const threeBoxed = new PluginChain(boxed, tables);
  const rows: ChainRow[] = [];
  for (const n of opts.hostCounts ?? [100, 1000, 10000]) {
    const snap = makeSnapshot(n, n);
    const idx = new TagIndex(snap);
    const on = makeRequest(true);
    const off = makeRequest(false);
    const cases: [string, () => void][] = [
      ["no plugins (host only)", () => void none.run(on, snap)],
      ["drain, keeps all (wasm: the fixed cost of a call)", () => void fixed.run(on, snap)],
      ["header-canary (wasm)", () => void one.run(on, snap)],
      ["header-canary (plain TS)", () => void canary(on.rawHeaders, idx, null)],
      ["header-canary, canary off (wasm)", () => void one.run(off, snap)],
      ["header-canary, canary off (plain TS)", () => void canary(off.rawHeaders, idx, null)],
      ["chain of three (wasm)", () => void three.run(on, snap)],
      ["chain of three (plain TS)", () => void chainOfThree(on.rawHeaders, idx)],
      ["chain of three, as the host runs it (sandboxed, no steps)", () => void threeBoxed.run(on, snap, false)],
      ["chain of three, canary off (wasm)", () => void three.run(off, snap)],
      ["chain of three, canary off (plain TS)", () => void chainOfThree(off.rawHeaders, idx)],
    ];
    // Warm up every case (JIT, table load into each plugin), then interleave rounds.
    for (const [, fn] of cases) timeNs(fn, 2000);
    const iterations = n >= 10000 ? 3000 : 20000;
    const samples = cases.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) cases.forEach(([, fn], i) => samples[i]!.push(timeNs(fn, iterations)));
    cases.forEach(([name], i) => rows.push({ hosts: n, case: name, nsPerRequest: median(samples[i]!) }));
  }
  return rows;
}

export function formatChain(rows: readonly ChainRow[]): string {
  const base = new Map(rows.filter((r) => r.case.startsWith("no plugins")).map((r) => [r.hosts, r.nsPerRequest]));
  const ts = new Map(rows.filter((r) => r.case.includes("plain TS")).map((r) => [`${r.hosts}:${r.case.split(" (")[0]}`, r.nsPerRequest]));
  return table(
    [`case (10 headers, ${100 / CANARY_EVERY}% canary, ${ZONES} zones)`, "hosts", "ns/request (median)", "vs plain TS", "minus host-only"],
    rows.map((r) => {
      const t = ts.get(`${r.hosts}:${r.case.split(" (")[0]}`);
      return [r.case, r.hosts, r.nsPerRequest, t && !r.case.includes("plain") ? `${(r.nsPerRequest / t).toFixed(2)}×` : "", r.nsPerRequest - (base.get(r.hosts) ?? 0)];
    }),
  );
}

// Component plugins (issue 12) per request, as the host runs them (sandboxed, through PluginChain): header-canary
// as a raw AssemblyScript bundle against the same source as a component (sdk/wit), at 10 headers × 100 and
// × 10,000 hosts, the same rule in C and Rust (raw ABI modules and components), and the JavaScript guest at 100
// hosts. Rounds interleaved, medians reported; "× raw" is against the raw AssemblyScript bundle in the same run.

import { join } from "node:path";
import { loadBundle } from "../host/plugin/bundle.js";
import { PluginChain } from "../host/plugin/chain.js";
import { TableRegistry } from "../host/plugin/table-registry.js";
import { RouterPlugin } from "../host/plugin/plugin.js";
import { sandboxOptions } from "../host/sandbox/options.js";
import { makeRequest, makeSnapshot } from "./chain.js";
import { median, table, timeNs } from "./stats.js";

export interface ComponentRow {
  hosts: number;
  case: string;
  nsPerRequest: number;
}

async function chainOf(dir: string, tables: TableRegistry, routeThroughGlue = false): Promise<PluginChain & { plugin: RouterPlugin }> {
  const sandbox = sandboxOptions();
  const p = RouterPlugin.create(await loadBundle(dir, { ...sandbox, routeThroughGlue }), undefined, 0, { guard: sandbox.guard! });
  return Object.assign(new PluginChain([p], tables), { plugin: p });
}

export async function benchComponents(root: string, rounds = 5): Promise<ComponentRow[]> {
  const tables = new TableRegistry();
  const raw = await chainOf(join(root, "build/plugins/header-canary"), tables);
  const component = await chainOf(join(root, "build/component-plugins/header-canary"), tables);
  const glue = await chainOf(join(root, "build/component-plugins/header-canary"), tables, true);
  const js = await chainOf(join(root, "build/component-plugins/header-canary-js"), tables);
  const c = await chainOf(join(root, "build/raw-plugins/header-canary-c"), tables);
  const rust = await chainOf(join(root, "build/raw-plugins/header-canary-rust"), tables);
  const cComponent = await chainOf(join(root, "build/component-plugins/header-canary-c-component"), tables);
  const rustComponent = await chainOf(join(root, "build/component-plugins/header-canary-rust-component"), tables);
  const rows: ComponentRow[] = [];
  for (const n of [100, 10_000]) {
    const snap = makeSnapshot(n, n);
    const on = makeRequest(true);
    const off = makeRequest(false);
    const cases: [string, () => void, number][] = [
      ["header-canary raw (AssemblyScript)", () => void raw.run(on, snap, false), 20_000],
      ["header-canary component (AssemblyScript)", () => void component.run(on, snap, false), 20_000],
      ["header-canary component through jco's glue (before the direct route)", () => void glue.run(on, snap, false), 20_000],
      ["header-canary raw, canary off", () => void raw.run(off, snap, false), 20_000],
      ["header-canary component, canary off", () => void component.run(off, snap, false), 20_000],
      ["header-canary component through jco's glue, canary off", () => void glue.run(off, snap, false), 20_000],
      ["header-canary-c raw (C)", () => void c.run(on, snap, false), 20_000],
      ["header-canary-rust raw (Rust)", () => void rust.run(on, snap, false), 20_000],
      ["header-canary-c-component (C)", () => void cComponent.run(on, snap, false), 20_000],
      ["header-canary-rust-component (Rust)", () => void rustComponent.run(on, snap, false), 20_000],
    ];
    // The JavaScript guest cannot load a 10,000-host table within the largest call budget (~2,000 hosts fit).
    if (n === 100) cases.push(["header-canary-js component (JavaScript)", () => void js.run(on, snap, false), 200]);
    for (const [, fn, it] of cases) timeNs(fn, Math.min(it, 2000));
    const samples = cases.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) cases.forEach(([, fn, it], i) => samples[i]!.push(timeNs(fn, it)));
    // A plugin that failed is skipped (fail open): its time is the host's, not the plugin's. Said so.
    const failed = js.plugin.stats.failures;
    cases.forEach(([name], i) => rows.push({ hosts: n, case: name.includes("JavaScript") && failed > 0 ? `${name}: FAILED ${failed}× (${Object.keys(js.plugin.stats.failuresByKind).join(", ")}), skipped` : name, nsPerRequest: median(samples[i]!) }));
  }
  return rows;
}

export function formatComponents(rows: readonly ComponentRow[]): string {
  const rawOf = (r: ComponentRow) => rows.find((x) => x.hosts === r.hosts && x.case === (r.case.includes("off") ? "header-canary raw, canary off" : "header-canary raw (AssemblyScript)"))!;
  return table(["hosts", "case", "ns/request", "× raw"], rows.map((r) => [String(r.hosts), r.case, r.nsPerRequest.toFixed(0), (r.nsPerRequest / rawOf(r).nsPerRequest).toFixed(2)]));
}

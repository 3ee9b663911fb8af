// What the sandbox costs: ns per call of a route-like function and of a hot loop, instrumented vs not; the
// price of arming; fuel burned per ms in V8's baseline and optimising tiers (the figure behind FUEL_PER_MS);
// how long instrumenting takes. Reports, never asserts. `node dist/bench/run.js sandbox` prints the table.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { RequestParts } from "../host/abi/codec.js";
import { HostStatus, type ClusterSnapshot, type Host } from "../host/cluster/types.js";
import { loadBundle } from "../host/plugin/bundle.js";
import { PluginChain } from "../host/plugin/chain.js";
import { TableRegistry } from "../host/plugin/table-registry.js";
import { RouterPlugin } from "../host/plugin/plugin.js";
import { sandboxOptions } from "../host/sandbox/options.js";
import { FUEL_PER_MS, FuelBudget } from "../host/sandbox/budget.js";
import { MAX_FUEL, type SandboxExports } from "../host/sandbox/exports.js";
import { LOOPS_WAT, ROUTE_WAT, watToWasm } from "./wat.js";
import { instrument } from "../host/sandbox/instrument.js";

export interface Row {
  readonly name: string;
  readonly variant: string;
  readonly value: number;
  readonly unit: string;
}

type Ex = SandboxExports & Record<string, (...a: number[]) => number>;

const ROUNDS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `fn` for about `ms` (at most 1e6 times), then yields so that V8's background TurboFan compile of the
 * hot functions can land: on a loaded 2-core machine it lags, and a bench of baseline code says little.
 */
async function warm(fn: () => void, ms: number, now: () => number): Promise<void> {
  const end = now() + ms;
  for (let i = 0; i < 1_000_000 && now() < end; i++) fn();
  await sleep(50);
  for (let i = 0; i < 100; i++) fn();
}

/** A copy of `wasm` with a custom section naming `tag`: V8 shares compiled code between identical bytes. */
function distinct(wasm: Uint8Array, tag: number): Uint8Array {
  const name = new TextEncoder().encode(`sy.bench.${tag}`);
  const out = new Uint8Array(wasm.length + 3 + name.length);
  out.set(wasm);
  out.set([0, name.length + 1, name.length], wasm.length); // id 0, section size, name size (all < 128)
  out.set(name, wasm.length + 3);
  return out;
}

/** Median over ROUNDS of ns per call of `fn`; `calls` per round bounds the work. */
async function nsPerCall(fn: () => void, calls: number, now: () => number): Promise<number> {
  await warm(fn, 300, now);
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = now();
    for (let i = 0; i < calls; i++) fn();
    rounds.push(((now() - t0) * 1e6) / calls);
  }
  return median(rounds);
}

function instantiate(wasm: Uint8Array): Ex {
  return new WebAssembly.Instance(new WebAssembly.Module(wasm), {}).exports as unknown as Ex;
}

/** Fuel per ms of `count` on a fresh module (its first call runs in the baseline tier), then once warm. */
async function fuelRates(now: () => number): Promise<{ baseline: number; optimized: number }> {
  const wasm = instrument(watToWasm(LOOPS_WAT), { maxMemoryPages: 1 }).wasm;
  const sample = (ex: Ex, n: number): number => {
    ex.sy_fuel_set(MAX_FUEL);
    const t0 = now();
    ex.count!(n);
    return (MAX_FUEL - ex.sy_fuel_left()) / (now() - t0);
  };
  const baseline: number[] = [];
  for (let r = 0; r < ROUNDS; r++) baseline.push(sample(instantiate(distinct(wasm, r)), 2_000_000));
  const hot = instantiate(wasm);
  await warm(() => sample(hot, 20_000), 300, now);
  const optimized: number[] = [];
  for (let r = 0; r < ROUNDS; r++) optimized.push(sample(hot, 2_000_000));
  return { baseline: median(baseline), optimized: median(optimized) };
}

export async function benchSandbox(now: () => number = () => performance.now()): Promise<Row[]> {
  const rows: Row[] = [];
  const routeWasm = watToWasm(ROUTE_WAT);
  instrument(routeWasm, { maxMemoryPages: 1 }); // binaryen's own warm-up is not the instrumentation's cost
  const times: number[] = [];
  let metered = routeWasm;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = now();
    metered = instrument(routeWasm, { maxMemoryPages: 1 }).wasm;
    times.push(now() - t0);
  }
  rows.push({ name: "instrument (route-like module)", variant: `${routeWasm.length} → ${metered.length} bytes`, value: median(times), unit: "ms" });

  const plain = instantiate(routeWasm);
  const inst = instantiate(metered);
  plain.fill!();
  inst.sy_fuel_set(MAX_FUEL);
  inst.fill!();
  const budget = new FuelBudget(MAX_FUEL);
  const base = await nsPerCall(() => void plain.route!(100), 2_000, now);
  const armed = await nsPerCall(() => {
    budget.arm(inst);
    inst.route!(100);
  }, 2_000, now);
  rows.push({ name: "route(100 items, FNV hash)", variant: "plain", value: base, unit: "ns/call" });
  rows.push({ name: "route(100 items, FNV hash)", variant: "metered + arm", value: armed, unit: "ns/call" });
  rows.push({ name: "route(100 items, FNV hash)", variant: "overhead", value: (armed / base - 1) * 100, unit: "%" });

  const loops = watToWasm(LOOPS_WAT);
  const hotPlain = instantiate(loops);
  const hotInst = instantiate(instrument(loops, { maxMemoryPages: 1 }).wasm);
  const hotBase = await nsPerCall(() => void hotPlain.count!(100_000), 200, now);
  const hotMetered = await nsPerCall(() => {
    hotInst.sy_fuel_set(MAX_FUEL);
    hotInst.count!(100_000);
  }, 200, now);
  rows.push({ name: "tightest loop, 100k iterations", variant: "plain", value: hotBase, unit: "ns/call" });
  rows.push({ name: "tightest loop, 100k iterations", variant: "metered", value: hotMetered, unit: "ns/call" });
  rows.push({ name: "tightest loop, 100k iterations", variant: "overhead", value: (hotMetered / hotBase - 1) * 100, unit: "%" });

  rows.push({ name: "arm + read fuel", variant: "sy_fuel_set + sy_fuel_left", value: await nsPerCall(() => {
    inst.sy_fuel_set(1000);
    inst.sy_fuel_left();
  }, 100_000, now), unit: "ns/call" });

  const rates = await fuelRates(now);
  rows.push({ name: "fuel per ms (tightest loop)", variant: "baseline tier (fresh module)", value: rates.baseline, unit: "fuel/ms" });
  rows.push({ name: "fuel per ms (tightest loop)", variant: "optimised tier (warm)", value: rates.optimized, unit: "fuel/ms" });
  rows.push({ name: "fuel per ms (tightest loop)", variant: "FUEL_PER_MS constant", value: FUEL_PER_MS, unit: "fuel/ms" });

  // A fresh module: the first runaway calls of a new plugin run in the baseline tier, the slowest case.
  const spin = instantiate(distinct(instrument(loops, { maxMemoryPages: 1 }).wasm, ROUNDS));
  const five = FuelBudget.fromMs(5);
  const traps: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    five.arm(spin);
    const t0 = now();
    try {
      spin.spin!();
    } catch {
      // the budget trap is the point
    }
    traps.push(now() - t0);
  }
  rows.push({ name: "infinite loop, 5 ms budget", variant: "time to trap (fresh module)", value: median(traps), unit: "ms" });
  // Warm: the tier the host runs plugins in (host/server/engine.ts); this is what FUEL_PER_MS is calibrated on.
  const warmTraps: number[] = [];
  await warm(() => {
    five.arm(spin);
    try {
      spin.spin!();
    } catch {
      // the budget trap is the point
    }
  }, 300, now);
  for (let r = 0; r < ROUNDS; r++) {
    five.arm(spin);
    const t0 = now();
    try {
      spin.spin!();
    } catch {
      // the budget trap is the point
    }
    warmTraps.push(now() - t0);
  }
  rows.push({ name: "infinite loop, 5 ms budget", variant: "time to trap (warm)", value: median(warmTraps), unit: "ms" });
  rows.push({ name: "infinite loop, 5 ms budget", variant: "warm time / budget", value: median(warmTraps) / 5, unit: "ratio" });
  return rows;
}

/** 100 hosts tagged as the example plugins expect (version, zone), one snapshot for every call. */
function exampleSnapshot(): ClusterSnapshot {
  const hosts: Host[] = [];
  for (let i = 0; i < 100; i++) {
    const version = i % 10 === 0 ? "canary" : i % 2 ? "v1" : "v2";
    hosts.push({ address: `127.0.10.${i}:8080`, hostname: undefined, weight: 1, healthy: true, tags: { version, zone: `z${i % 4}` }, status: HostStatus.Available, pending: 0 });
  }
  return { cluster: "bench", version: 1, id: 1, hosts };
}

const EXAMPLE_REQUEST: RequestParts = {
  method: "GET",
  path: "/api/v1/orders?limit=20",
  authority: "shop.example.com",
  rawHeaders: ["Host", "shop.example.com", "User-Agent", "bench/1.0", "Accept", "application/json", "X-Canary", "0", "X-Zone", "z1", "X-User", "user-12345", "X-Client", "ok"],
};

/**
 * The CPU budget's cost on the real example plugins (`make build-plugins`): ns per route through a one-plugin
 * chain, 100 hosts, the bundle loaded plain and loaded with the sandbox (metered, capped, armed per call).
 * Rounds alternate between the two so that machine noise hits both alike.
 */
export async function benchExamplePlugins(dir = "build/plugins", now: () => number = () => performance.now()): Promise<Row[]> {
  const rows: Row[] = [];
  const sandbox = sandboxOptions();
  const snapshot = exampleSnapshot();
  const names = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const name of names) {
    const tables = new TableRegistry();
    const plain = new PluginChain([RouterPlugin.create(await loadBundle(join(dir, name)), undefined, 0)], tables);
    const metered = new PluginChain([RouterPlugin.create(await loadBundle(join(dir, name), sandbox), undefined, 0, { guard: sandbox.guard! })], tables);
    const calls = 20_000;
    const run = (chain: PluginChain) => () => void chain.run(EXAMPLE_REQUEST, snapshot);
    await warm(run(plain), 300, now);
    await warm(run(metered), 300, now);
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const [chain, out] of [[plain, a], [metered, b]] as const) {
        const f = run(chain);
        const t0 = now();
        for (let i = 0; i < calls; i++) f();
        out.push(((now() - t0) * 1e6) / calls);
      }
    }
    const base = median(a);
    const armed = median(b);
    rows.push({ name: `example ${name}, chain route, 100 hosts`, variant: "plain", value: base, unit: "ns/route" });
    rows.push({ name: `example ${name}, chain route, 100 hosts`, variant: "sandboxed", value: armed, unit: "ns/route" });
    rows.push({ name: `example ${name}, chain route, 100 hosts`, variant: "overhead", value: (armed / base - 1) * 100, unit: "%" });
  }
  return rows;
}

export function formatRows(rows: readonly Row[]): string {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1));
  const w0 = Math.max(...rows.map((r) => r.name.length));
  const w1 = Math.max(...rows.map((r) => r.variant.length));
  return rows.map((r) => `${r.name.padEnd(w0)}  ${r.variant.padEnd(w1)}  ${fmt(r.value).padStart(12)} ${r.unit}`).join("\n");
}

// The example plugins built by `make build-plugins` (build/plugins/*/plugin.wasm), run through the sandbox:
// exports and imports kept, the ABI still answers, and instrumentation time reported. `make test` builds them
// first; a tree without them fails here on purpose rather than skipping.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { Guest } from "../host/abi/guest.js";
import { encodeHostTable } from "../host/abi/codec.js";
import { loadBundle } from "../host/plugin/bundle.js";
import { PluginInstance } from "../host/plugin/instance.js";
import { RouterPlugin } from "../host/plugin/plugin.js";
import { DEFAULT_CPU_MS, FuelBudget } from "../host/sandbox/budget.js";
import { MAX_FUEL, SANDBOX_EXPORTS, sandboxExportsOf } from "../host/sandbox/exports.js";
import { instrument } from "../host/sandbox/instrument.js";
import { sandboxOptions } from "../host/sandbox/options.js";
import { SandboxClassifier } from "../host/sandbox/plugin-hooks.js";
import { makeRequest, makeSnapshot } from "../bench/chain.js";
import { MAX_HOSTS } from "../host/abi/limits.js";
import { PluginChain } from "../host/plugin/chain.js";
import { TableRegistry } from "../host/plugin/table-registry.js";

const ROOT = "build/plugins";
const bundles = existsSync(ROOT) ? readdirSync(ROOT).filter((d) => existsSync(join(ROOT, d, "plugin.wasm"))).sort() : [];

test("the example plugins are built", () => {
  expect(bundles.length, `no ${ROOT}/*/plugin.wasm: run make build-plugins`).toBeGreaterThan(0);
});

describe.each(bundles)("%s", (name) => {
  test("instrumented, it keeps its exports and imports and still speaks ABI 1", () => {
    const wasm = new Uint8Array(readFileSync(join(ROOT, name, "plugin.wasm")));
    const { wasm: out, info } = instrument(wasm, { maxMemoryPages: 256 });
    console.log(`${name}: ${info.bytesIn} → ${info.bytesOut} bytes, ${info.functions} functions, ${info.loops} loops, ${info.growSites} grow sites, start ${info.hasStart}, ${info.ms.toFixed(1)} ms`);
    const before = new WebAssembly.Module(wasm);
    const after = new WebAssembly.Module(out);
    const exp = (m: WebAssembly.Module) => WebAssembly.Module.exports(m).map((e) => `${e.kind}:${e.name}`).sort();
    const imp = (m: WebAssembly.Module) => WebAssembly.Module.imports(m).map((e) => `${e.kind}:${e.module}.${e.name}`).sort();
    expect(exp(after)).toEqual([...exp(before), ...SANDBOX_EXPORTS.map((n) => `function:${n}`)].sort());
    expect(imp(after)).toEqual(imp(before));
    const guest = Guest.instantiate(after, { enabled: () => false, log: () => undefined });
    const sx = sandboxExportsOf(guest.exports as unknown as WebAssembly.Exports)!;
    expect(sx.sy_fuel_left()).toBeGreaterThanOrEqual(0); // the start function ran within its fuel
    const budget = FuelBudget.fromMs(5);
    budget.arm(sx);
    expect(guest.exports.sy_abi_version()).toBe(1);
    budget.arm(sx);
    expect(guest.exports.sy_name()).toBe(0);
    expect(guest.message()).toBe(name);
    expect(budget.used(sx)).toBeGreaterThan(0);
  });
});

describe("host tables under the default budget (budget grows with the table, sdk/ABI.md §7)", () => {
  // The plugins built into the host with the sandbox on, as `switchyard run` loads them.
  const sandbox = sandboxOptions();
  const snapshot = makeSnapshot(10_000, 1);
  const encoded = encodeHostTable(snapshot.hosts);

  test.each(bundles.filter((b) => b !== "deny"))("%s loads a 10,000-host table and routes over it", async (name) => {
    const plugin = RouterPlugin.create(await loadBundle(join(ROOT, name), { transform: sandbox.transform }), undefined, 0, { guard: sandbox.guard });
    const inst = plugin.instance()!;
    inst.loadTable(0, snapshot, encoded);
    inst.route(0, makeRequest(false), null, 0, snapshot.hosts.length);
    expect(inst.answer.verdict).toBe("accept");
  });

  test("a budget that does not grow with the table is not enough for it: the scaling is what makes it pass", async () => {
    const budget = FuelBudget.fromMs(DEFAULT_CPU_MS);
    const bundle = await loadBundle(join(ROOT, "drain"), { transform: sandbox.transform });
    const inst = new PluginInstance(bundle.module, null, { enabled: () => false, log: () => undefined }, { arm: (g) => sandboxExportsOf(g.exports as unknown as WebAssembly.Exports)!.sy_fuel_set(budget.fuel) }, new SandboxClassifier(budget));
    expect(() => inst.loadTable(0, snapshot, encoded)).toThrow(expect.objectContaining({ kind: "budget" }));
    expect(budget.armFor(encoded.length)).toBeGreaterThan(budget.fuel);
    expect(budget.armFor(1e9)).toBe(MAX_FUEL);
  });
});

describe("a MAX_HOSTS table under the default budget", () => {
  const sandbox = sandboxOptions();
  const snapshot = makeSnapshot(MAX_HOSTS, 2);
  const canaries = snapshot.hosts.filter((h) => h.tags.version === "canary").length;

  // The SDK once listed "all but the tag" inside the sy_route that first dropped the tag: after a canary-on
  // request (which loads the table), that was a later sy_route, with the plain budget, and it ran out.
  test("header-canary answers canary-on then canary-off, each with its group, and never fails", async () => {
    const plugin = RouterPlugin.create(await loadBundle(join(ROOT, "header-canary"), { transform: sandbox.transform }), undefined, 0, { guard: sandbox.guard });
    const chain = new PluginChain([plugin], new TableRegistry());
    const counts = [true, false, true, false].map((on) => {
      const d = chain.run(makeRequest(on), snapshot);
      expect(d.steps.map((s) => [s.outcome, s.failure?.message])).toEqual([["accept", undefined]]);
      return d.outcome === "accept" ? d.subset.count : -1;
    });
    expect(counts).toEqual([canaries, MAX_HOSTS - canaries, canaries, MAX_HOSTS - canaries]);
    expect(plugin.stats.failures).toBe(0);
  });
});

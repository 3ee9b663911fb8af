// The example plugins built by `make build-plugins` (build/plugins/*/plugin.wasm), run through the sandbox:
// exports and imports kept, the ABI still answers, and instrumentation time reported. `make test` builds them
// first; a tree without them fails here on purpose rather than skipping.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { Guest } from "../host/abi/guest.js";
import { FuelBudget } from "../host/sandbox/budget.js";
import { SANDBOX_EXPORTS, sandboxExportsOf } from "../host/sandbox/exports.js";
import { instrument } from "../host/sandbox/instrument.js";

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

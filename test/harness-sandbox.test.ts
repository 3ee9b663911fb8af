// The plugin author's harness (sdk/harness) runs a bundle in the host's own sandbox by default: a plugin that
// loops fails its test with kind "budget" after about its budget, one that grows its memory without bound with
// kind "memory" at the cap, as in the host (test/failure-host.test.ts); `{ sandbox: false }` opts out.
// The bundles are the fixtures `make build-fixtures` builds (test/fixtures/<name>/bundle).

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PluginFailure } from "../host/plugin/errors.js";
import { loadBundle } from "../sdk/harness/index.js";
import { REPO } from "./fixtures/bundles.js";

const fixture = (name: string) => join(REPO, "test/fixtures", name, "bundle");
const hosts = [{ address: "127.0.0.1:1", weight: 1 }, { address: "127.0.0.1:2", weight: 1 }];

function failureOf(fn: () => unknown): PluginFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PluginFailure);
    return err as PluginFailure;
  }
  throw new Error("the call did not fail");
}

describe("harness sandbox", () => {
  it("fails a route that loops with kind budget, after about the budget (5 ms by default)", async () => {
    const p = await loadBundle(fixture("loop-route"));
    expect(p.sandboxed).toBe(true);
    const started = performance.now();
    const f = failureOf(() => p.route({}, hosts));
    const ms = performance.now() - started;
    expect(f.kind).toBe("budget");
    expect(f.code).toBe("E_PLUGIN_BUDGET");
    expect(f.message).toMatch(/loop-route@1\.0\.0 failed \(budget\): route: out of fuel: the call used its whole budget of \d+ fuel \(~5\.\d+ ms\)/);
    // 15M fuel is ~2-5 ms on the optimizing tier; a slow first call in the baseline tier is ~6x that. A loop
    // with no sandbox never ends at all.
    expect(ms).toBeLessThan(1000);
  });

  it("uses the bundle's own budget, or the host settings' default, like the host", async () => {
    const p = await loadBundle(fixture("loop-route"), { sandbox: { cpuMs: 1 } });
    expect(failureOf(() => p.route({}, hosts)).message).toMatch(/whole budget of \d+ fuel \(~1\.\d+ ms\)/);
  });

  it("gives the next call a fresh instance after a budget failure, as the host does", async () => {
    const p = await loadBundle(fixture("loop-route"));
    expect(failureOf(() => p.route({}, hosts)).kind).toBe("budget");
    expect(failureOf(() => p.route({}, hosts)).kind).toBe("budget");
    expect(p.configure("{}")).toEqual({ ok: true });
    expect(failureOf(() => p.route({}, hosts)).kind).toBe("budget");
  });

  it("stops a configure that loops at load with kind budget", async () => {
    await expect(loadBundle(fixture("loop-configure"))).rejects.toMatchObject({ kind: "budget", code: "E_PLUGIN_BUDGET" });
  });

  it("stops a route that grows its memory at the cap with kind memory", async () => {
    const p = await loadBundle(fixture("memory-bomb"), { sandbox: { memoryPages: 32 } });
    const f = failureOf(() => p.route({}, hosts));
    expect(f.kind).toBe("memory");
    expect(f.message).toMatch(/past its cap of 32 pages/);
  });

  it("runs the wasm unmetered with { sandbox: false }", async () => {
    const p = await loadBundle(fixture("echo"), { sandbox: false });
    expect(p.sandboxed).toBe(false);
    // The sandbox's exports (host/sandbox/exports.ts) are in the instrumented module only.
    const sandboxed = await loadBundle(fixture("echo"));
    expect(WebAssembly.Module.exports(sandboxed.bundle.module).map((e) => e.name)).toContain("sy_fuel_set");
    expect(WebAssembly.Module.exports(p.bundle.module).map((e) => e.name)).not.toContain("sy_fuel_set");
  });
});

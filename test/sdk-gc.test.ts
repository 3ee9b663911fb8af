// Garbage collection under the SDK's runtime (host/build/runtime.ts, sdk/assembly/gc.ts): bundles are built
// with AssemblyScript's minimal runtime, which frees nothing unless asked, and the SDK asks at the end of a
// call once garbage passes twice the live data. Checked with real bundles through the sandbox, as the host
// loads them: a plugin making garbage on every request stays inside a small memory cap; a plugin making none
// is never collected (its calls cost the same fuel every time); a table of MAX_HOSTS hosts loads within the
// default cap, though nothing is collected during the load.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeHostTable } from "../host/abi/codec.js";
import { MAX_HOSTS } from "../host/abi/limits.js";
import { HostStatus, type ClusterSnapshot, type Host } from "../host/cluster/types.js";
import { loadBundle } from "../host/plugin/bundle.js";
import { PluginInstance } from "../host/plugin/instance.js";
import { RouterPlugin } from "../host/plugin/plugin.js";
import { FuelBudget } from "../host/sandbox/budget.js";
import { sandboxExportsOf } from "../host/sandbox/exports.js";
import { sandboxOptions } from "../host/sandbox/options.js";
import { SandboxClassifier, SandboxMeter } from "../host/sandbox/plugin-hooks.js";

const root = new URL("../", import.meta.url).pathname;
const sandbox = sandboxOptions();
const silent = { enabled: () => false, log: () => undefined };

function snapshot(n: number): ClusterSnapshot {
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    hosts.push({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`, hostname: undefined, weight: 1, healthy: true, tags: { version: i % 50 === 0 ? "canary" : "v1", zone: `z${i % 4}`, env: "prod" }, status: HostStatus.Available, pending: 0 });
  }
  return { cluster: "gc", version: 1, id: n, hosts };
}

describe("collection at the end of calls", () => {
  it("a plugin that makes ~8 KiB of garbage per request serves 20,000 requests inside a 2 MiB cap", async () => {
    const plugin = RouterPlugin.create(await loadBundle(join(root, "test/fixtures/garbage/bundle"), { transform: sandbox.transform }), undefined, 0, { guard: sandbox.guard });
    const inst = plugin.instance()!;
    const s = snapshot(10);
    inst.loadTable(0, s, encodeHostTable(s.hosts));
    const mem = () => inst.guest.exports.memory.buffer.byteLength;
    let peak = 0;
    for (let i = 0; i < 20_000; i++) {
      // 160 MiB of garbage in all: only collection keeps it under the cap (32 pages).
      inst.route(0, { method: "GET", path: "/", authority: "a", rawHeaders: ["x-user", `user-${i % 97}`] }, null, 0, s.hosts.length);
      expect(inst.answer.kept).toBe(1);
      peak = Math.max(peak, mem());
    }
    expect(peak).toBeLessThanOrEqual(32 * 65_536);
  });

  it("a plugin that allocates nothing per request is not collected: its calls cost the same fuel whatever the table", async () => {
    // Fuel counts the functions and loop iterations a call runs (the sandbox's meter). A collection marks
    // every live object: its cost would grow with the host table, and differ from call to call.
    for (const name of ["drain", "header-canary"]) {
      const bundle = await loadBundle(join(root, "build/plugins", name), { transform: sandbox.transform });
      const perTable: number[] = [];
      for (const n of [10, 5_000]) {
        const budget = FuelBudget.fromMs(5);
        const inst = new PluginInstance(bundle.module, bundle.metadata.headers, silent, new SandboxMeter(budget), new SandboxClassifier(budget));
        expect(inst.configure(bundle.metadata.defaultConfig)).toBeNull();
        const s = snapshot(n);
        inst.loadTable(0, s, encodeHostTable(s.hosts));
        const sx = sandboxExportsOf(inst.guest.exports as unknown as WebAssembly.Exports)!;
        const used = new Set<number>();
        for (let i = 0; i < 3000; i++) {
          inst.route(0, { method: "GET", path: "/", authority: "a", rawHeaders: ["X-Canary", "0", "X-Zone", "z1"] }, null, 0, s.hosts.length);
          if (i >= 10) used.add(budget.used(sx));
        }
        expect([name, n, used.size]).toEqual([name, n, 1]);
        perTable.push([...used][0]!);
      }
      expect([name, perTable[1]]).toEqual([name, perTable[0]]);
    }
  });

  it("a table of MAX_HOSTS hosts loads within the default memory cap, and a second one replaces it", async () => {
    const plugin = RouterPlugin.create(await loadBundle(join(root, "build/plugins/zone-affinity"), { transform: sandbox.transform }), undefined, 0, { guard: sandbox.guard });
    const inst = plugin.instance()!;
    const big = snapshot(MAX_HOSTS);
    const encoded = encodeHostTable(big.hosts);
    inst.loadTable(0, big, encoded);
    inst.route(0, { method: "GET", path: "/", authority: "a", rawHeaders: ["x-zone", "z2"] }, null, 0, big.hosts.length);
    expect(inst.answer.kept).toBeLessThan(-1); // a group: the zone's hosts
    const after = inst.guest.exports.memory.buffer.byteLength;
    // A new snapshot of the same size: the old table becomes garbage and its space is reused.
    const again = { ...big, version: 2 };
    inst.loadTable(0, again, encoded);
    inst.route(0, { method: "GET", path: "/", authority: "a", rawHeaders: ["x-zone", "z3"] }, null, 0, big.hosts.length);
    expect(inst.guest.exports.memory.buffer.byteLength).toBeLessThanOrEqual(Math.max(after * 2, after + 4 * 2 ** 20));
    expect(inst.guest.exports.memory.buffer.byteLength).toBeLessThanOrEqual(256 * 65_536);
  }, 60_000);
});

// explain runs the request path's own chain in a dry run (host/plugin/chain.ts run(…, dryRun)): the same
// decision, made once, with what each plugin kept on its step, and no counter or failure count of a live
// plugin moved, so that explaining a request that makes a plugin fail can never quarantine it.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBundle } from "../host/plugin/bundle.js";
import { PluginChain } from "../host/plugin/chain.js";
import { TableRegistry } from "../host/plugin/table-registry.js";
import { RouterPlugin } from "../host/plugin/plugin.js";
import { chainRequest, chainSnapshot } from "./helpers/chain-run.js";

const root = new URL("../", import.meta.url).pathname;

const snapshot = (n: number) => chainSnapshot("dry", n, (i) => ({ version: i % 4 === 0 ? "canary" : "v1", zone: `z${i % 2}` }));
const request = chainRequest;
const ACCEPT = { "x-echo-verdict": "accept", "x-echo-keep": "0,1,2,4,8" };
const FAIL = { "x-echo-verdict": "accept", "x-echo-keep": "99" };

describe("a dry run of the chain (explain)", () => {
  it("makes the live decision, records each step's offer, and moves no counter", async () => {
    const plugins = [
      RouterPlugin.create(await loadBundle(join(root, "build/plugins/header-canary")), undefined, 0),
      RouterPlugin.create(await loadBundle(join(root, "test/fixtures/echo/bundle")), undefined, 0),
    ];
    const chain = new PluginChain(plugins, new TableRegistry());
    const s = snapshot(12);
    const dry = chain.run(request({ "x-canary": "1", ...ACCEPT }), s, true, true);
    expect(plugins.map((p) => [p.counters.calls, p.counters.accept, p.stats.calls])).toEqual([[0, 0, 0], [0, 0, 0]]);
    const live = chain.run(request({ "x-canary": "1", ...ACCEPT }), s);
    expect(plugins.map((p) => [p.counters.calls, p.counters.accept, p.stats.calls])).toEqual([[1, 1, 1], [1, 1, 1]]);
    expect(dry.outcome).toBe("accept");
    expect(live.outcome).toBe("accept");
    if (dry.outcome !== "accept" || live.outcome !== "accept") return;
    expect([...(dry.subset.indices ?? [])]).toEqual([...(live.subset.indices ?? [])]);
    // echo (order 0) keeps the hosts it lists; header-canary then keeps the canaries among them (0, 4, 8).
    expect(dry.steps.map((x) => [x.plugin, x.in, x.out, [...(x.kept?.indices ?? [])]])).toEqual([
      ["echo", 12, 5, [0, 1, 2, 4, 8]],
      ["header-canary", 5, 3, [0, 4, 8]],
    ]);
    expect(live.steps.every((x) => x.kept === undefined)).toBe(true);
  });

  it("a failing plugin explained any number of times is never counted or quarantined; the request path's failures are", async () => {
    const echo = RouterPlugin.create(await loadBundle(join(root, "test/fixtures/echo/bundle")), undefined, 0, { quarantine: { threshold: 2, baseDelayMs: 1000, maxDelayMs: 1000 } });
    const chain = new PluginChain([echo], new TableRegistry());
    const s = snapshot(4);
    for (let i = 0; i < 5; i++) {
      const d = chain.run(request(FAIL), s, true, true);
      expect(d.outcome).toBe("fail"); // the fixture fails closed
      expect(d.steps.map((x) => [x.outcome, x.failure?.kind])).toEqual([["failed", "abort"]]);
    }
    expect([echo.state, echo.stats.failures, echo.stats.quarantines, echo.counters.calls]).toEqual(["ready", 0, 0, 0]);
    // The instance a failed dry-run call leaves is not reused: the next call gets a fresh one and succeeds.
    expect(chain.run(request({ "x-echo-verdict": "accept", "x-echo-keep": "0,1" }), s).outcome).toBe("accept");
    for (let i = 0; i < 2; i++) chain.run(request(FAIL), s);
    expect([echo.state, echo.stats.failures, echo.stats.quarantines]).toEqual(["quarantined", 2, 1]);
  });
});

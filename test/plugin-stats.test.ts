// One count per concept (issue 17): what GET /plugins says of a plugin's calls, failures and quarantines is
// its name's counters (host/plugin/counters.ts), the ones switchyard_plugin_calls_total reads, kept across
// pushes and bundle versions, not a second count that a push starts again.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBundle } from "../host/plugin/bundle.js";
import { PluginChain } from "../host/plugin/chain.js";
import { PluginCounterSet } from "../host/plugin/counters.js";
import { RouterPlugin } from "../host/plugin/plugin.js";
import { TableRegistry } from "../host/plugin/table-registry.js";
import { chainRequest, chainSnapshot } from "./helpers/chain-run.js";

const root = new URL("../", import.meta.url).pathname;

const snapshot = (n: number) => chainSnapshot("stats", n);
const request = chainRequest;
const ACCEPT = { "x-echo-verdict": "accept", "x-echo-keep": "0,1" };
const FAIL = { "x-echo-verdict": "accept", "x-echo-keep": "99" };

describe("a plugin's stats", () => {
  it("are its name's counters: a push continues them, and they match the metrics' count", async () => {
    const counters = new PluginCounterSet();
    const bundle = await loadBundle(join(root, "test/fixtures/echo/bundle"));
    const v0 = RouterPlugin.create(bundle, undefined, 0, { counters, quarantine: { threshold: 100, baseDelayMs: 1000, maxDelayMs: 1000 } });
    const s = snapshot(4);
    const first = new PluginChain([v0], new TableRegistry());
    for (let i = 0; i < 3; i++) first.run(request(ACCEPT), s);
    first.run(request(FAIL), s);
    expect(v0.stats).toEqual({ calls: 4, failures: 1, failuresByKind: { abort: 1 }, quarantines: 0 });

    // A push builds a new RouterPlugin aside; its stats go on from the old one's.
    const v1 = v0.reconfigure(v0.config, 1);
    expect(v1).not.toBe(v0);
    const second = new PluginChain([v1], new TableRegistry());
    for (let i = 0; i < 2; i++) second.run(request(ACCEPT), s);
    expect(v1.stats).toEqual({ calls: 6, failures: 1, failuresByKind: { abort: 1 }, quarantines: 0 });
    expect(counters.of("echo").calls).toBe(6);
    expect(v1.stats.calls).toBe(v1.counters.calls);
  });
});

// End to end: Wait verdicts (the drain plugin) honoured up to wait.max_count and within the route timeout, a
// push that lets a waiting request through on its next decision, and each fallback policy when the chain
// keeps no host.

import { afterEach, describe, expect, it } from "vitest";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig, type RunningSwitchyard, startSwitchyard, upstreamOf } from "./helpers/switchyard.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { startUpstreams, type Upstreams, waitFor } from "./helpers/upstreams.js";

let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;

afterEach(async () => {
  await sy?.close();
  await ups?.close();
  sy = undefined;
  ups = undefined;
});

/** A push as the admin API applies it: the plugin builds the new config aside, the registry swaps it in. */
function push(s: RunningSwitchyard, plugin: string, config: object, version: number): void {
  const current = s.host.registry.get(plugin)!;
  s.host.registry.install(current.reconfigure(JSON.stringify(config), version));
}

/** The drain plugin asking every request to wait 100 ms, on a host whose clock moves only when `clock` is advanced. */
async function startDrain(clock: ManualClock, route: object = {}): Promise<RunningSwitchyard> {
  ups = await startUpstreams(1);
  const s = await startSwitchyard({
    plugins: ["drain"],
    clock,
    config: mosnConfig({
      clusters: [{ name: "c", hosts: ups.addresses }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", switchyard: { plugins: ["drain"] }, ...route } }])],
    }),
  });
  push(s, "drain", { draining: true, waitMs: 100 }, 2);
  return s;
}

/**
 * Waits for the request in flight to be waiting (its Wait timer set on `clock`), checks that the timer does not
 * fire before its 100 ms, then lets it fire: the next decision runs inside advance().
 */
async function nextDecision(clock: ManualClock): Promise<void> {
  await clock.whenPending(1);
  expect(clock.pending).toBe(1);
  clock.advance(99);
  expect(clock.pending, "the wait ended before its 100 ms").toBe(1);
  clock.advance(1);
}

describe("Wait verdict", () => {
  it("a draining plugin makes the request wait waitMs × max_count, then answers 503", async () => {
    const clock = new ManualClock();
    sy = await startDrain(clock, { timeout: "5s", switchyard: { plugins: ["drain"], wait: { max_count: 3 } } });
    const pending = send(sy.url, { path: "/" });
    for (let i = 0; i < 3; i++) await nextDecision(clock);
    // The fourth decision, at 300 ms, answered at once: no fourth wait.
    expect(clock.pending).toBe(0);
    const r = await pending;
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(/plugin drain asked to wait: still waiting after 3 waits/);
    expect(ups!.list[0]!.requests).toHaveLength(0);
    expect(sy.accessLog()[0]).toMatchObject({ status: 503, reason: "E_WAIT_EXHAUSTED", plugin: "drain", chain: "drain:1>0:wait", durationMs: 300 });
  });

  it("a wait that would pass the route timeout answers 503 at once", async () => {
    const clock = new ManualClock();
    sy = await startDrain(clock, { timeout: "250ms", switchyard: { plugins: ["drain"], wait: { max_count: 10 } } });
    const pending = send(sy.url, { path: "/" });
    // Waits at 0 and 100 ms; at 200 ms a third would end past 250 ms.
    for (let i = 0; i < 2; i++) await nextDecision(clock);
    expect(clock.pending).toBe(0);
    const r = await pending;
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(/would pass the route timeout/);
    expect(sy.accessLog()[0]).toMatchObject({ status: 503, reason: "E_WAIT_EXHAUSTED", durationMs: 200 });
  });

  it("a push while the request waits lets it through on the next decision", async () => {
    const clock = new ManualClock();
    sy = await startDrain(clock, { timeout: "5s", switchyard: { plugins: ["drain"], wait: { max_count: 5 } } });
    const pending = send(sy.url, { path: "/go" });
    // Decisions at 0 and 100 ms waited; the push lands before the one at 200 ms, which forwards (a 200 also
    // says that the waits were not exhausted).
    await nextDecision(clock);
    await clock.whenPending(1);
    expect(ups!.list[0]!.requests).toHaveLength(0);
    push(sy, "drain", { draining: false }, 3);
    await nextDecision(clock);
    expect(clock.pending).toBe(0);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(upstreamOf(r.body).url).toBe("/go");
    expect(clock.now()).toBe(200);
    expect(sy.accessLog()[0]).toMatchObject({ status: 200, chain: "drain:1>1" });
  });

  it("the route timeout counts the time spent waiting: the upstream gets only what is left", async () => {
    const clock = new ManualClock();
    sy = await startDrain(clock, { timeout: "1s", switchyard: { plugins: ["drain"], wait: { max_count: 10 } } });
    // The upstream answers after 500 ms (real time): within the route's 1 s, not within the 200 ms left of it.
    ups!.list[0]!.behaviour = { delayMs: 500 };
    const pending = send(sy.url, { path: "/" });
    for (let i = 0; i < 7; i++) await nextDecision(clock);
    await clock.whenPending(1);
    push(sy, "drain", { draining: false }, 3);
    // Forwarded at 800 ms, with the 200 ms that are left: the forwarder's deadline passes first.
    await nextDecision(clock);
    const r = await pending;
    expect(r.status).toBe(504);
    expect(ups!.list[0]!.requests.map((q) => q.url)).toEqual(["/"]);
    expect(sy.accessLog()[0]).toMatchObject({ status: 504, reason: "E_ROUTE_TIMEOUT" });
  });

  it("a client that leaves while waiting is logged and never forwarded", async () => {
    const clock = new ManualClock();
    sy = await startDrain(clock, { timeout: "5s", switchyard: { plugins: ["drain"], wait: { max_count: 5 } } });
    // The client gives up after 150 ms of real time; the host's clock has not moved, so it is still waiting.
    await expect(send(sy.url, { path: "/leave", timeoutMs: 150 })).rejects.toThrow(/no complete answer/);
    await waitFor("the abandoned request's log line", () => sy!.accessLog().length === 1);
    // Its wait was cancelled: no timer left to run another decision, even after the push and much time.
    expect(clock.pending).toBe(0);
    push(sy, "drain", { draining: false }, 3);
    clock.advance(10_000);
    // A request sent after it goes through; the upstream saw only that one.
    expect((await send(sy.url, { path: "/after" })).status).toBe(200);
    expect(ups!.list[0]!.requests.map((q) => q.url)).toEqual(["/after"]);
    expect(sy.accessLog()[0]).toMatchObject({ status: 0, reason: "E_CLIENT_ABORTED", path: "/leave" });
    expect(sy.accessLog().map((l) => l.path)).toEqual(["/leave", "/after"]);
  });
});

describe("fallback when the chain keeps nothing", () => {
  // header-canary with x-canary: 1 keeps the canary hosts; this cluster has none.
  async function startCanary(fallback: string | null, clusterExtra: object = {}, clock?: ManualClock): Promise<RunningSwitchyard> {
    ups = await startUpstreams(3);
    const hosts = [
      { address: ups.addresses[0]!, tags: { version: "v1", stage: "stable" } },
      { address: ups.addresses[1]!, tags: { version: "v1" } },
      { address: ups.addresses[2]!, tags: { version: "v2", stage: "stable" } },
    ];
    const ext = fallback === null ? { plugins: ["header-canary"] } : { plugins: ["header-canary"], fallback };
    return startSwitchyard({
      plugins: ["header-canary"],
      ...(clock ? { clock } : {}),
      config: mosnConfig({
        clusters: [{ name: "c", hosts, extra: clusterExtra }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", switchyard: ext } }])],
      }),
    });
  }

  async function canaryAnswers(s: RunningSwitchyard, n: number): Promise<Set<string | number>> {
    const seen = new Set<string | number>();
    for (let i = 0; i < n; i++) {
      const r = await send(s.url, { path: "/", headers: { "x-canary": "1" } });
      seen.add(r.status === 200 ? upstreamOf(r.body).upstream : r.status);
    }
    return seen;
  }

  it("none: 503 with a reason, at once", async () => {
    // On a clock that never moves, a request that waited (for a host, within the 60 s route timeout) would
    // never be answered.
    const clock = new ManualClock();
    sy = await startCanary("none", {}, clock);
    const r = await send(sy.url, { path: "/", headers: { "x-canary": "1" } });
    expect(clock.pending).toBe(0);
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(/no host left for cluster c \(fallback none\)/);
    expect(sy.accessLog()[0]).toMatchObject({ status: 503, reason: "E_NO_HOST", chain: "header-canary:3>0" });
    expect(ups!.list.every((u) => u.requests.length === 0)).toBe(true);
  });

  it("any: the whole cluster", async () => {
    sy = await startCanary("any");
    expect(await canaryAnswers(sy, 6)).toEqual(new Set(["up0", "up1", "up2"]));
    expect(sy.accessLog()[0]).toMatchObject({ status: 200, fallback: "any", chain: "header-canary:3>0" });
  });

  it("default: the cluster's default_subset (lb_subset_config)", async () => {
    sy = await startCanary("default", { lb_subset_config: { fall_back_policy: 0, default_subset: { stage: "stable" } } });
    expect(await canaryAnswers(sy, 4)).toEqual(new Set(["up0", "up2"]));
    expect(sy.accessLog()[0]).toMatchObject({ status: 200, fallback: "default" });
  });

  it("without a route fallback, the cluster's fall_back_policy applies", async () => {
    sy = await startCanary(null, { lb_subset_config: { fall_back_policy: "DefaultSubset", default_subset: { filter_metadata: { "mosn.lb": { version: "v2" } } } } });
    expect(await canaryAnswers(sy, 3)).toEqual(new Set(["up2"]));
  });

  it("default with no host in the default_subset: 503 saying so", async () => {
    sy = await startCanary("default", { lb_subset_config: { default_subset: { stage: "gone" } } });
    const r = await send(sy.url, { path: "/", headers: { "x-canary": "1" } });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString())).toMatchObject({ error: "E_NO_HOST", message: expect.stringMatching(/fallback default: no host carries the default_subset \{"stage":"gone"\}/) });
  });
});

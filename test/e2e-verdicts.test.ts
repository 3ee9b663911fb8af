// End to end: Wait verdicts (the drain plugin) honoured up to wait.max_count and within the route timeout, a
// push that lets a waiting request through on its next decision, and each fallback policy when the chain
// keeps no host.

import { afterEach, describe, expect, it } from "vitest";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig, type RunningSwitchyard, startSwitchyard, upstreamOf } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams, waitFor } from "./helpers/upstreams.js";

let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;

afterEach(async () => {
  await sy?.close();
  await ups?.close();
  sy = undefined;
  ups = undefined;
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A push as the admin API applies it: the plugin builds the new config aside, the registry swaps it in. */
function push(s: RunningSwitchyard, plugin: string, config: object, version: number): void {
  const current = s.host.registry.get(plugin)!;
  s.host.registry.install(current.reconfigure(JSON.stringify(config), version));
}

async function startDrain(route: object = {}): Promise<RunningSwitchyard> {
  ups = await startUpstreams(1);
  const s = await startSwitchyard({
    plugins: ["drain"],
    config: mosnConfig({
      clusters: [{ name: "c", hosts: ups.addresses }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", switchyard: { plugins: ["drain"] }, ...route } }])],
    }),
  });
  push(s, "drain", { draining: true, waitMs: 100 }, 2);
  return s;
}

describe("Wait verdict", () => {
  it("a draining plugin makes the request wait waitMs × max_count, then answers 503", async () => {
    sy = await startDrain({ timeout: "5s", switchyard: { plugins: ["drain"], wait: { max_count: 3 } } });
    const t0 = performance.now();
    const r = await send(sy.url, { path: "/" });
    const took = performance.now() - t0;
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(/plugin drain asked to wait: still waiting after 3 waits/);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
    expect(ups!.list[0]!.requests).toHaveLength(0);
    expect(sy.accessLog()[0]).toMatchObject({ status: 503, reason: "E_WAIT_EXHAUSTED", plugin: "drain", chain: "drain:1>0:wait" });
  });

  it("a wait that would pass the route timeout answers 503 at once", async () => {
    sy = await startDrain({ timeout: "250ms", switchyard: { plugins: ["drain"], wait: { max_count: 10 } } });
    const t0 = performance.now();
    const r = await send(sy.url, { path: "/" });
    const took = performance.now() - t0;
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(/would pass the route timeout/);
    // Waits at 0 and 100 ms; at 200 ms a third would end past 250 ms (upper bound loose for a busy machine).
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1_000);
  });

  it("a push while the request waits lets it through on the next decision", async () => {
    sy = await startDrain({ timeout: "5s", switchyard: { plugins: ["drain"], wait: { max_count: 5 } } });
    const t0 = performance.now();
    const pending = send(sy.url, { path: "/go" });
    await sleep(150);
    expect(ups!.list[0]!.requests).toHaveLength(0);
    push(sy, "drain", { draining: false }, 3);
    const r = await pending;
    const took = performance.now() - t0;
    expect(r.status).toBe(200);
    expect(upstreamOf(r.body).url).toBe("/go");
    // Decisions at 0, 100 and 200 ms: the third sees the pushed config (a 200 also says that the waits
    // were not exhausted; the upper bound is loose for a busy machine).
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(2_000);
    expect(sy.accessLog()[0]).toMatchObject({ status: 200, chain: "drain:1>1" });
  });

  it("the route timeout counts the time spent waiting: the upstream gets only what is left", async () => {
    sy = await startDrain({ timeout: "500ms", switchyard: { plugins: ["drain"], wait: { max_count: 5 } } });
    ups!.list[0]!.behaviour = { delayMs: 400 };
    const t0 = performance.now();
    const pending = send(sy.url, { path: "/" });
    await sleep(150);
    push(sy, "drain", { draining: false }, 3);
    const r = await pending;
    const took = performance.now() - t0;
    // Forwarded at ~200 ms to an upstream that takes 400 ms: the 500 ms deadline passes first.
    expect(r.status).toBe(504);
    expect(took).toBeGreaterThanOrEqual(480);
    expect(took).toBeLessThan(1_500);
  });

  it("a client that leaves while waiting is logged and never forwarded", async () => {
    sy = await startDrain({ timeout: "5s", switchyard: { plugins: ["drain"], wait: { max_count: 5 } } });
    await expect(send(sy.url, { path: "/leave", timeoutMs: 150 })).rejects.toThrow(/no complete answer/);
    await waitFor("the abandoned request's log line", () => sy!.accessLog().length === 1);
    push(sy, "drain", { draining: false }, 3);
    await sleep(250);
    expect(ups!.list[0]!.requests).toHaveLength(0);
    expect(sy.accessLog()).toHaveLength(1);
    expect(sy.accessLog()[0]).toMatchObject({ status: 0, reason: "E_CLIENT_ABORTED", path: "/leave" });
  });
});

describe("fallback when the chain keeps nothing", () => {
  // header-canary with x-canary: 1 keeps the canary hosts; this cluster has none.
  async function startCanary(fallback: string | null, clusterExtra: object = {}): Promise<RunningSwitchyard> {
    ups = await startUpstreams(3);
    const hosts = [
      { address: ups.addresses[0]!, tags: { version: "v1", stage: "stable" } },
      { address: ups.addresses[1]!, tags: { version: "v1" } },
      { address: ups.addresses[2]!, tags: { version: "v2", stage: "stable" } },
    ];
    const ext = fallback === null ? { plugins: ["header-canary"] } : { plugins: ["header-canary"], fallback };
    return startSwitchyard({
      plugins: ["header-canary"],
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
    sy = await startCanary("none");
    const t0 = performance.now();
    const r = await send(sy.url, { path: "/", headers: { "x-canary": "1" } });
    expect(performance.now() - t0).toBeLessThan(2_000); // no waiting for the 60 s route timeout
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
    expect(r.body.toString()).toMatch(/fallback default: no host carries the default_subset \{"stage":"gone"\}/);
  });
});

// End to end: upstream failures through a whole host. Retries landing on another host, a slow upstream cut
// by the route timeout, an upstream killed mid-response, a client that leaves cancelling the upstream
// request, a cluster with no host (fail_fast, or waiting for one), and outlier detection from the cluster config.

import { afterEach, describe, expect, it } from "vitest";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig, type RunningSwitchyard, startSwitchyard, upstreamOf } from "./helpers/switchyard.js";
import { HostStatus } from "../host/cluster/types.js";
import { refusingAddress, startUpstreams, type Upstreams, waitFor } from "./helpers/upstreams.js";

let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;

afterEach(async () => {
  await sy?.close();
  await ups?.close();
  sy = undefined;
  ups = undefined;
});

/** One cluster "c" over `addresses` (round robin), one catch-all route with `route` fields. */
function oneRoute(addresses: readonly string[], route: object): object {
  return mosnConfig({
    clusters: [{ name: "c", hosts: addresses }],
    virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", ...route } }])],
  });
}

describe("retries", () => {
  it("a 503 is retried on the other host", async () => {
    ups = await startUpstreams(2);
    ups.list[0]!.behaviour = { status: 503 };
    sy = await startSwitchyard({ config: oneRoute(ups.addresses, { retry_policy: { retry_on: true, num_retries: 2 } }) });
    const r = await send(sy.url, { path: "/" });
    expect(r.status).toBe(200);
    expect(upstreamOf(r.body).upstream).toBe("up1");
    expect(ups.list[0]!.requests).toHaveLength(1);
    expect(sy.accessLog()[0]).toMatchObject({ status: 200, attempts: 2, upstream: ups.addresses[1] });
  });

  it("a refused connection is retried on another host", async () => {
    ups = await startUpstreams(1);
    const dead = await refusingAddress();
    sy = await startSwitchyard({ config: oneRoute([dead, ups.addresses[0]!], { retry_policy: { retry_on: true, num_retries: 1 } }) });
    const r = await send(sy.url, { path: "/" });
    expect(r.status).toBe(200);
    expect(sy.accessLog()[0]).toMatchObject({ status: 200, attempts: 2, upstream: ups.addresses[0] });
  });

  it("without a retry policy the upstream's 503 reaches the client", async () => {
    ups = await startUpstreams(2);
    ups.list[0]!.behaviour = { status: 503 };
    sy = await startSwitchyard({ config: oneRoute(ups.addresses, {}) });
    const r = await send(sy.url, { path: "/" });
    expect(r.status).toBe(503);
    expect(upstreamOf(r.body).upstream).toBe("up0");
    expect(ups.list[1]!.requests).toHaveLength(0);
  });
});

describe("upstream failures", () => {
  it("a slow upstream is answered 504 within the route timeout", async () => {
    ups = await startUpstreams(1, { delayMs: 3_000 });
    sy = await startSwitchyard({ config: oneRoute(ups.addresses, { timeout: "300ms" }) });
    const t0 = performance.now();
    const r = await send(sy.url, { path: "/slow" });
    const took = performance.now() - t0;
    expect(r.status).toBe(504);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_500); // the upstream takes 3 s; loose for a busy machine
    expect(sy.accessLog()[0]).toMatchObject({ status: 504, reason: "E_ROUTE_TIMEOUT", cluster: "c" });
    await waitFor("the upstream request cancelled", () => ups!.list[0]!.requests[0]?.aborted === true);
  });

  it("an upstream killed mid-response cuts the client's connection (no silent truncation)", async () => {
    ups = await startUpstreams(1, { resetAfterBytes: 100_000 });
    sy = await startSwitchyard({ config: oneRoute(ups.addresses, {}) });
    const r = await send(sy.url, { path: "/big" });
    expect(r.status).toBe(200);
    expect(r.complete).toBe(false);
    expect(r.body.length).toBeLessThan(200_001);
    await waitFor("access log", () => sy!.accessLog().length === 1);
    expect(sy.accessLog()[0]).toMatchObject({ reason: "E_UPSTREAM_RESET", upstream: ups.addresses[0] });
  });

  it("an upstream that resets before answering gives 502", async () => {
    ups = await startUpstreams(1, { resetBeforeResponse: true });
    sy = await startSwitchyard({ config: oneRoute(ups.addresses, {}) });
    const r = await send(sy.url, { path: "/" });
    expect(r.status).toBe(502);
  });

  it("a client that goes away cancels the upstream request", async () => {
    ups = await startUpstreams(1, { delayMs: 2_000 });
    sy = await startSwitchyard({ config: oneRoute(ups.addresses, {}) });
    await expect(send(sy.url, { path: "/gone", timeoutMs: 200 })).rejects.toThrow(/no complete answer/);
    await waitFor("the upstream request aborted", () => ups!.list[0]!.requests[0]?.aborted === true, 1_500);
    await waitFor("access log", () => sy!.accessLog().length === 1);
    expect(sy.accessLog()[0]).toMatchObject({ path: "/gone", reason: "E_CLIENT_ABORTED", status: 0 });
  });
});

describe("a cluster with no host", () => {
  // The wait applies when the cluster has hosts but none is available now: the route asks for hosts tagged
  // v2 (none yet), the one host there is marked Unavailable as the forwarder marks a host it cannot reach.
  const V2 = { metadata_match: { filter_metadata: { "mosn.lb": { version: "v2" } } } };
  function unavailableHost(): Promise<void> {
    const cluster = sy!.host.clusters.get("c")!;
    cluster.host(ups!.addresses[0]!)!.setStatus(HostStatus.Unavailable);
    // A waiting request subscribes to snapshots (host/cluster/available.ts): that is the event to wait on.
    return new Promise<void>((resolve) => {
      const onSnapshot = cluster.onSnapshot.bind(cluster);
      cluster.onSnapshot = (cb) => {
        resolve();
        return onSnapshot(cb);
      };
    });
  }

  it("fail_fast answers 503 at once when hosts exist but none is available", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: oneRoute(ups.addresses, { ...V2, timeout: "5s", switchyard: { fail_fast: true } }) });
    void unavailableHost();
    const t0 = performance.now();
    const r = await send(sy.url, { path: "/" });
    expect(r.status).toBe(503);
    expect(performance.now() - t0).toBeLessThan(2_000); // the route timeout is 5 s
    expect(sy.accessLog()[0]).toMatchObject({ status: 503, reason: "E_NO_HOST" });
  });

  it("with no hosts at all, answers 503 E_NO_HOST at once: nothing is there to come back", async () => {
    // The route timeout is 60 s and the test's 10 s: an answer at all shows the request did not wait for it.
    sy = await startSwitchyard({ config: oneRoute([], { timeout: "60s" }) });
    const r = await send(sy.url, { path: "/", timeoutMs: 9_000 });
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(/cluster c has no hosts/);
    expect(sy.accessLog()[0]).toMatchObject({ status: 503, reason: "E_NO_HOST" });
  }, 10_000);

  it("with hosts none of which is available, the request waits for one, and is forwarded when one arrives", async () => {
    ups = await startUpstreams(2);
    sy = await startSwitchyard({ config: oneRoute([ups.addresses[0]!], { ...V2, timeout: "5s" }) });
    const waiting = unavailableHost();
    const pending = send(sy.url, { path: "/later" });
    await waiting;
    sy.host.clusters.get("c")!.update([
      { address: ups.addresses[0]!, weight: 1, tags: {} },
      { address: ups.addresses[1]!, weight: 1, tags: { version: "v2" } },
    ]);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(upstreamOf(r.body).url).toBe("/later");
    expect(ups.list[1]!.requests).toHaveLength(1);
  });

  it("and answers 503 at the route timeout when none arrives", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: oneRoute(ups.addresses, { ...V2, timeout: "300ms" }) });
    void unavailableHost();
    const t0 = performance.now();
    const r = await send(sy.url, { path: "/" });
    const took = performance.now() - t0;
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(/no host became available/);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
  });
});

describe("outlier detection (cluster outlier_detection)", () => {
  function withOutliers(route: object, outlier: object = { consecutive_5xx: 2, base_ejection_time: "60s" }) {
    return mosnConfig({
      clusters: [{ name: "c", hosts: ups!.addresses, extra: { outlier_detection: outlier } }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", ...route } }])],
    });
  }

  it("ejects a host after consecutive 5xx, logs it, and the balancer then avoids it", async () => {
    ups = await startUpstreams(2);
    ups.list[0]!.behaviour = { status: 503 };
    sy = await startSwitchyard({ config: withOutliers({}) });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(sy.url, { path: "/" })).status);
    expect(statuses).toEqual([503, 200, 503, 200]);
    const bad = sy.host.clusters.get("c")!.host(ups.addresses[0]!)!;
    expect(sy.host.outlierDetector("c")!.isEjected(bad)).toBe(true);
    expect(bad.healthy).toBe(false);
    expect(sy.logs.filter((l) => l.event === "ejected")).toEqual([
      expect.objectContaining({ level: 40, cluster: "c", host: ups.addresses[0], forMs: 60_000, ejections: 1, msg: "host ejected after consecutive failures" }),
    ]);
    for (let i = 0; i < 4; i++) expect((await send(sy.url, { path: "/" })).status).toBe(200);
    expect(ups.list[0]!.requests).toHaveLength(2);
  });

  it("a failure that was retried on another host counts too; a success resets the count", async () => {
    ups = await startUpstreams(2);
    ups.list[0]!.behaviour = { status: 503 };
    sy = await startSwitchyard({ config: withOutliers({ retry_policy: { retry_on: true, num_retries: 1 } }) });
    const url = sy.url;
    const outliers = sy.host.outlierDetector("c")!;
    expect((await send(url, { path: "/" })).status).toBe(200); // up0 503 → up1
    const bad = sy.host.clusters.get("c")!.host(ups.addresses[0]!)!;
    expect(outliers.isEjected(bad)).toBe(false);
    ups.list[0]!.behaviour = {};
    expect((await send(url, { path: "/" })).status).toBe(200); // up0 answers: the count starts again
    ups.list[0]!.behaviour = { status: 503 };
    await send(url, { path: "/" }); // up1
    expect((await send(url, { path: "/" })).status).toBe(200); // up0 503 → up1
    expect(outliers.isEjected(bad)).toBe(false);
    expect((await send(url, { path: "/" })).status).toBe(200); // up0 503 again, the second in a row → up1
    expect(outliers.isEjected(bad)).toBe(true);
  });

  it("an ejected host comes back after base_ejection_time, with a log line, and serves again", async () => {
    ups = await startUpstreams(2);
    ups.list[0]!.behaviour = { status: 500 };
    sy = await startSwitchyard({ config: withOutliers({}, { consecutive_5xx: 1, base_ejection_time: "300ms" }) });
    expect((await send(sy.url, { path: "/" })).status).toBe(500);
    const bad = sy.host.clusters.get("c")!.host(ups.addresses[0]!)!;
    expect(bad.healthy).toBe(false);
    ups.list[0]!.behaviour = {};
    const logs = sy.logs;
    await waitFor("the ejected host to return", () => logs.some((l) => l.event === "returned"), 3_000);
    expect(bad.healthy).toBe(true);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(upstreamOf((await send(sy.url, { path: "/" })).body).upstream);
    expect([...seen].sort()).toEqual(["up0", "up1"]);
  });

  it("a cluster without outlier_detection has no detector: 5xx never eject", async () => {
    ups = await startUpstreams(2);
    ups.list[0]!.behaviour = { status: 503 };
    sy = await startSwitchyard({ config: oneRoute(ups.addresses, {}) });
    expect(sy.host.outlierDetector("c")).toBeUndefined();
    for (let i = 0; i < 6; i++) await send(sy.url, { path: "/" });
    expect(ups.list[0]!.requests).toHaveLength(3);
  });
});

// Circuit breakers (cluster circuit_breakers, host/proxy/circuit-breaker.ts) in a whole host: a cluster driven
// past each limit with real upstreams that hold requests until the test releases them, the exact counts of
// what reached the upstream, what waited and what was refused asserted. And circuit_breakers as a config
// file gives it (host/config/circuit-breakers.ts).

import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../host/config/errors.js";
import { parseConfig } from "../host/config/parse.js";
import { CircuitBreaker } from "../host/proxy/circuit-breaker.js";
import { send, type ClientResponse } from "./helpers/front.js";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";
import { holdingUpstream, startUpstream, type Upstream } from "./helpers/upstreams.js";
import { oneClusterConfig } from "./helpers/config-problems.js";

let sy: RunningSwitchyard | null = null;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await sy?.close();
  sy = null;
  for (const c of cleanups.splice(0)) await c();
});

/** A host with cluster c; `route` is added to the catch-all route, `before` are router entries matched first. */
async function start(hosts: string[], breakers: unknown, route: object = {}, before: object[] = []) {
  const config = mosnConfig({
    clusters: [{ name: "c", hosts, extra: { circuit_breakers: breakers } }],
    virtualHosts: [anyHost([...before, { match: { prefix: "/" }, route: { cluster_name: "c", ...route } }])],
  });
  sy = await startSwitchyard({ config });
  return sy;
}

async function overflows(s: RunningSwitchyard, limit: string): Promise<number> {
  const { body } = await s.host.metrics.scrape();
  const line = body.split("\n").find((l) => l.startsWith(`switchyard_circuit_breaker_overflows_total{cluster="c",limit="${limit}"}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const statuses = (rs: ClientResponse[]) => rs.map((r) => r.status).sort();

/** The answers of `all` in the order they come; `until(n)` resolves once `n` have come. */
function answers(all: Promise<ClientResponse>[]) {
  const done: ClientResponse[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  for (const r of all) {
    void r.then((x) => {
      done.push(x);
      waiters = waiters.filter((w) => (done.length >= w.n ? (w.resolve(), false) : true));
    });
  }
  return { done, until: (n: number) => new Promise<void>((resolve) => (done.length >= n ? resolve() : waiters.push({ n, resolve }))) };
}

describe("circuit breakers under load (cluster circuit_breakers)", () => {
  it("max_requests: requests over it are answered 503 E_CIRCUIT_OPEN at once; the ones in flight finish", async () => {
    const up = await holdingUpstream();
    cleanups.push(() => up.close());
    const s = await start([up.address], [{ max_requests: 3 }]);
    const all = Array.from({ length: 5 }, (_, i) => send(s.url, { path: `/r${i}` }));
    await up.reached(3);
    // The two refused ones come back while three are held.
    const answered = answers(all);
    await answered.until(2);
    expect(statuses(answered.done)).toEqual([503, 503]);
    expect(up.seen).toBe(3);
    expect(s.host.circuitBreaker("c")!.requests).toBe(3);
    up.release();
    const results = await Promise.all(all);
    expect(statuses(results)).toEqual([200, 200, 200, 503, 503]);
    const body = results.find((r) => r.status === 503)!.body.toString();
    expect(body).toBe(`${JSON.stringify({ error: "E_CIRCUIT_OPEN", message: "circuit breaker open: cluster c: 3 requests in flight, circuit_breakers max_requests is 3" })}\n`);
    expect(s.accessLog().filter((l) => l.reason === "E_CIRCUIT_OPEN")).toHaveLength(2);
    expect(await overflows(s, "max_requests")).toBe(2);
    expect(s.host.circuitBreaker("c")!.requests).toBe(0);
    up.release(0, true);
    expect((await send(s.url)).status).toBe(200);
    expect(up.seen).toBe(4);
  });

  it("max_connections and max_pending_requests: over the connections a request waits, over the pending ones it is refused", async () => {
    const up = await holdingUpstream();
    cleanups.push(() => up.close());
    const s = await start([up.address], [{ max_connections: 2, max_pending_requests: 2 }]);
    const breaker = s.host.circuitBreaker("c")!;
    const all = Array.from({ length: 6 }, (_, i) => send(s.url, { path: `/r${i}` }));
    await up.reached(2);
    // Two held upstream, two waiting in the breaker, two refused.
    const answered = answers(all);
    await answered.until(2);
    const done = answered.done;
    expect(statuses(done)).toEqual([503, 503]);
    expect(JSON.parse(done[0]!.body.toString())).toEqual({ error: "E_CIRCUIT_OPEN", message: "circuit breaker open: cluster c: 2 connections in use (max_connections 2) and 2 requests waiting, circuit_breakers max_pending_requests is 2" });
    expect([up.seen, breaker.requests, breaker.pendingRequests]).toEqual([2, 2, 2]);
    // /metrics shows the cluster at its limits (max_requests and max_retries at Envoy's defaults).
    const { body } = await s.host.metrics.scrape();
    const gauges = body.split("\n").filter((l) => /^switchyard_circuit_breaker_(used|max)\{/.test(l)).sort();
    expect(gauges).toEqual([
      'switchyard_circuit_breaker_max{cluster="c",limit="max_connections"} 2',
      'switchyard_circuit_breaker_max{cluster="c",limit="max_pending_requests"} 2',
      'switchyard_circuit_breaker_max{cluster="c",limit="max_requests"} 1024',
      'switchyard_circuit_breaker_max{cluster="c",limit="max_retries"} 3',
      'switchyard_circuit_breaker_used{cluster="c",limit="max_connections"} 2',
      'switchyard_circuit_breaker_used{cluster="c",limit="max_pending_requests"} 2',
      'switchyard_circuit_breaker_used{cluster="c",limit="max_requests"} 2',
      'switchyard_circuit_breaker_used{cluster="c",limit="max_retries"} 0',
    ]);
    // One held request answered: exactly one waiting request goes out.
    up.release(1);
    await up.reached(3);
    expect([up.seen, breaker.requests, breaker.pendingRequests]).toEqual([3, 2, 1]);
    up.release(0, true);
    up.release();
    const results = await Promise.all(all);
    expect(statuses(results)).toEqual([200, 200, 200, 200, 503, 503]);
    expect(up.seen).toBe(4);
    expect(await overflows(s, "max_pending_requests")).toBe(2);
    expect([breaker.requests, breaker.pendingRequests]).toEqual([0, 0]);
  });

  it("a pending request that gets no connection within the route timeout is answered 503 E_CIRCUIT_OPEN", async () => {
    const up = await holdingUpstream();
    cleanups.push(() => up.close());
    const s = await start([up.address], [{ max_connections: 1, max_pending_requests: 1 }], { timeout: "300ms" }, [
      { match: { prefix: "/held" }, route: { cluster_name: "c", timeout: "0s" } },
    ]);
    const first = send(s.url, { path: "/held" });
    await up.reached(1);
    const waited = await send(s.url, { path: "/waits" });
    expect(waited.status).toBe(503);
    expect(JSON.parse(waited.body.toString())).toEqual({ error: "E_CIRCUIT_OPEN", message: "circuit breaker open: cluster c: no connection within the route timeout (max_connections 1)" });
    expect(s.host.circuitBreaker("c")!.pendingRequests).toBe(0);
    expect(up.seen).toBe(1);
    up.release(0, true);
    up.release();
    expect((await first).status).toBe(200);
  });

  it("max_retries: a retry over it is not made, the request gets the answer it had, and the failing host is not hammered", async () => {
    const failing: Upstream = await startUpstream("failing", { status: 503 });
    cleanups.push(() => failing.close());
    const up = await holdingUpstream();
    cleanups.push(() => up.close());
    const s = await start([failing.address, up.address], [{ max_retries: 1 }], { retry_policy: { retry_on: true, num_retries: 1 } });
    // Round robin: r1 → failing, retried on the holding host (the one retry in flight); r2 → failing, no
    // retry left: its 503; r3 → holding host; r4 → failing, no retry left.
    const r1 = send(s.url, { path: "/r1" });
    await up.reached(1);
    const r2 = await send(s.url, { path: "/r2" });
    const r3 = send(s.url, { path: "/r3" });
    await up.reached(2);
    const r4 = await send(s.url, { path: "/r4" });
    expect([r2.status, JSON.parse(r2.body.toString()).upstream, r4.status]).toEqual([503, "failing", 503]);
    expect(failing.requests.map((r) => r.url)).toEqual(["/r1", "/r2", "/r4"]);
    expect(await overflows(s, "max_retries")).toBe(2);
    up.release(0, true);
    up.release();
    expect([(await r1).status, (await r3).status]).toEqual([200, 200]);
    // The retry slot is free again: r5 → holding host, r6 → failing, retried there.
    expect((await send(s.url, { path: "/r5" })).status).toBe(200);
    expect((await send(s.url, { path: "/r6" })).status).toBe(200);
    expect(failing.requests.map((r) => r.url)).toEqual(["/r1", "/r2", "/r4", "/r6"]);
    expect(await overflows(s, "max_retries")).toBe(2);
  });

  it("retry_budget: retries in flight at most budget_percent of the requests in flight, at least min_retry_concurrency", () => {
    const b = new CircuitBreaker("c", { maxConnections: 100, maxPendingRequests: 0, maxRequests: 100, maxRetries: 3, retryBudget: { budgetPercent: 25, minRetryConcurrency: 1 } });
    const limits: string[] = [];
    const withEvents = new CircuitBreaker("c", b.settings, { overflow: (l) => limits.push(l) });
    for (let i = 0; i < 8; i++) expect(withEvents.admit(false, () => undefined).kind).toBe("go");
    // 25 % of 8 = 2.
    expect([withEvents.tryRetry(), withEvents.tryRetry(), withEvents.tryRetry()]).toEqual([true, true, false]);
    expect(limits).toEqual(["retry_budget"]);
    for (let i = 0; i < 8; i++) withEvents.release();
    withEvents.retryDone();
    withEvents.retryDone();
    // No request in flight: min_retry_concurrency still lets one through.
    expect([withEvents.tryRetry(), withEvents.tryRetry()]).toEqual([true, false]);
  });
});

describe("cluster.circuit_breakers in a config file", () => {
  const doc = (cb: unknown) => oneClusterConfig({ circuit_breakers: cb });
  const at = "cluster_manager.clusters[0].circuit_breakers";

  it("reads MOSN's list and Envoy's object, with Envoy's defaults; a HIGH entry is a warning", () => {
    const mosn = parseConfig(doc([{ max_connections: 10, max_pending_requests: 5, max_requests: 20, max_retries: 2 }]), "cb.json");
    expect(mosn.warnings).toEqual([]);
    expect(mosn.config.clusters[0]!.circuitBreakers).toEqual({ maxConnections: 10, maxPendingRequests: 5, maxRequests: 20, maxRetries: 2, retryBudget: null });
    const envoy = parseConfig(doc({ thresholds: [{ priority: "HIGH", max_requests: 1 }, { priority: "DEFAULT", retry_budget: { budget_percent: { value: 10 } } }] }), "cb.json");
    expect(envoy.config.clusters[0]!.circuitBreakers).toEqual({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, retryBudget: { budgetPercent: 10, minRetryConcurrency: 3 } });
    expect(envoy.warnings.map((w) => w.path)).toEqual([`${at}.thresholds[0].priority`]);
    expect(parseConfig(doc([]), "cb.json").config.clusters[0]!.circuitBreakers).toBeNull();
  });

  it.each<[string, unknown, string, RegExp]>([
    ["a zero max_requests", [{ max_requests: 0 }], `${at}[0].max_requests`, /integer from 1 to 1000000000, got 0/],
    ["a negative max_retries", [{ max_retries: -1 }], `${at}[0].max_retries`, /from 0/],
    ["a string limit", [{ max_connections: "10" }], `${at}[0].max_connections`, /expected an integer/],
    ["a budget over 100 %", [{ retry_budget: { budget_percent: 150 } }], `${at}[0].retry_budget.budget_percent`, /from 0 to 100, got 150/],
    ["an unknown priority", { thresholds: [{ priority: "LOW" }] }, `${at}.thresholds[0].priority`, /"DEFAULT" or "HIGH"/],
    ["two DEFAULT entries", [{}, { max_requests: 5 }], `${at}[1]`, /second DEFAULT thresholds entry \(the first is .*\[0\]\)/],
    ["thresholds that are not a list", { thresholds: 3 }, `${at}.thresholds`, /expected an array/],
  ])("refuses %s, naming the field", (_what, cb, path, message) => {
    let problems: { path: string; message: string }[] = [];
    try {
      parseConfig(doc(cb), "cb.json");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      problems = [...(err as ConfigError).problems];
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe(path);
    expect(problems[0]!.message).toMatch(message);
  });
});

// Active health checks (host/cluster/health-check.ts) with the real probes (host/proxy/health-probe.ts)
// against real upstreams on 127.0.0.1, time driven by a ManualClock: no test waits for an interval. And
// cluster.health_check as a config file gives it (host/config/health-check.ts).

import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { ActiveHealthChecker, type HealthCheckSettings, type ProbeResult } from "../host/cluster/health-check.js";
import { OutlierDetector } from "../host/cluster/outlier.js";
import { HostStatus, type Host } from "../host/cluster/types.js";
import { decodeHostTable, encodeHostTable } from "../host/abi/codec.js";
import { ConfigError } from "../host/config/errors.js";
import { parseConfig } from "../host/config/parse.js";
import { run as check } from "../host/cli/check.js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpProbe, tcpProbe } from "../host/proxy/health-probe.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { refusingAddress, startUpstreams, type Upstreams } from "./helpers/upstreams.js";
import { oneClusterConfig } from "./helpers/config-problems.js";

const HTTP: HealthCheckSettings = Object.freeze({
  kind: "http",
  timeoutMs: 1000,
  intervalMs: 10_000,
  intervalJitterMs: 2000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  serviceName: null,
  http: Object.freeze({ path: "/healthz", port: null, expectedStatuses: [200, 204] }),
});

let ups: Upstreams | null = null;
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await ups?.close();
  ups = null;
});

/** A checker over a cluster of `addresses`, whose checks a test awaits one by one. */
function checking(addresses: readonly string[], settings: HealthCheckSettings, random = () => 0.5) {
  const clock = new ManualClock(0);
  const cluster = new Cluster({ name: "c", hosts: addresses.map((address) => ({ address, weight: 1, tags: {} })) });
  const results: { host: string; result: ProbeResult; at: number }[] = [];
  const changes: { host: string; healthy: boolean; at: number }[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  const checker = new ActiveHealthChecker(cluster, settings, settings.kind === "http" ? httpProbe(settings.http!, null) : tcpProbe(null), clock, random, {
    checked: (host, result) => {
      results.push({ host: host.address, result, at: clock.now() });
      waiters = waiters.filter((w) => (results.length >= w.n ? (w.resolve(), false) : true));
    },
    changed: (host, healthy) => changes.push({ host: host.address, healthy, at: clock.now() }),
  });
  closers.push(() => checker.close());
  /** Resolves once `count` more checks have finished. */
  const checks = (count: number) => new Promise<void>((resolve) => {
    const n = results.length + count;
    if (results.length >= n) resolve();
    else waiters.push({ n, resolve });
  });
  /** Moves the clock by `ms` and waits for the `count` checks that it starts. */
  const step = async (ms: number, count: number) => {
    const done = checks(count);
    clock.advance(ms);
    await done;
  };
  const host = (i: number) => cluster.snapshot().hosts[i]!;
  return { clock, cluster, checker, results, changes, step, host };
}

describe("active health checks against real upstreams, on a manual clock", () => {
  it("HTTP: marks a host unhealthy after unhealthy_threshold failed checks and back after healthy_threshold passes, in new snapshots", async () => {
    ups = await startUpstreams(2);
    let status = 200;
    ups.list[1]!.behaviour = (req) => (req.url === "/healthz" ? { status } : {});
    const t = checking(ups.addresses, HTTP);
    const every = 10_000 + 1000; // interval + 0.5 × interval_jitter, with random() = 0.5

    await t.step(every, 2);
    expect(t.results.map((r) => r.result)).toEqual([{ ok: true, detail: "status 200" }, { ok: true, detail: "status 200" }]);
    const v = t.cluster.snapshot().version;

    status = 503;
    const downAt = t.clock.now();
    await t.step(every, 2);
    await t.step(every, 2);
    expect(t.host(1).healthy).toBe(true);
    expect(t.cluster.snapshot().version).toBe(v);
    await t.step(every, 2);
    expect(t.changes).toEqual([{ host: ups.addresses[1], healthy: false, at: downAt + 3 * every }]);
    expect(t.host(1).healthy).toBe(false);
    expect(t.host(0).healthy).toBe(true);
    expect(t.checker.isFailing(t.host(1))).toBe(true);
    // A new snapshot, whose host table (what plugins get) says so.
    expect(t.cluster.snapshot().version).toBe(v + 1);
    expect(decodeHostTable(encodeHostTable(t.cluster.snapshot().hosts)).map((h) => h.healthy)).toEqual([true, false]);
    expect(t.results.at(-1)!.result).toEqual({ ok: false, detail: "status 503" });
    // The check sent what an upstream log can tell from traffic.
    const check = ups.list[1]!.requests.at(-1)!;
    expect([check.method, check.url, check.headers["user-agent"], check.headers.host]).toEqual(["GET", "/healthz", "switchyard-health-check", ups.addresses[1]]);

    status = 204;
    await t.step(every, 2);
    expect(t.host(1).healthy).toBe(false);
    await t.step(every, 2);
    expect(t.host(1).healthy).toBe(true);
    expect(t.changes.at(-1)).toEqual({ host: ups.addresses[1], healthy: true, at: downAt + 5 * every });
    expect(t.cluster.snapshot().version).toBe(v + 2);
    // Two hosts, one session each: no timer piles up.
    expect(t.clock.pending).toBe(2);
  });

  it("waits interval + random() × interval_jitter between checks, the randomness injected", async () => {
    ups = await startUpstreams(1);
    const draws = [0, 0.999, 0.25];
    let i = 0;
    const t = checking(ups.addresses, HTTP, () => draws[i++ % draws.length]!);
    t.clock.advance(9999);
    expect(t.results).toHaveLength(0);
    await t.step(1, 1); // 10,000 + 0 × 2000
    expect(t.results[0]!.at).toBe(10_000);
    t.clock.advance(11_997);
    expect(t.results).toHaveLength(1);
    await t.step(1, 1); // + 10,000 + floor(0.999 × 2000)
    expect(t.results[1]!.at).toBe(10_000 + 11_998);
    await t.step(10_500, 1); // + 10,000 + 500
    expect(t.results.map((r) => r.at)).toEqual([10_000, 21_998, 32_498]);
  });

  it("a check not answered within timeout fails", async () => {
    ups = await startUpstreams(1);
    let arrived!: () => void;
    const seen = new Promise<void>((resolve) => (arrived = resolve));
    ups.list[0]!.behaviour = (req) => {
      if (req.url !== "/healthz") return {};
      arrived();
      return { delayMs: 30_000 };
    };
    const t = checking(ups.addresses, { ...HTTP, unhealthyThreshold: 1, intervalJitterMs: 0 });
    t.clock.advance(10_000);
    await seen; // the check is out, and unanswered
    expect(t.results).toHaveLength(0);
    await t.step(1000, 1);
    expect(t.results[0]!.result).toEqual({ ok: false, detail: "timeout after 1000 ms" });
    expect(t.host(0).healthy).toBe(false);
  });

  it("TCP: a refused connect fails; a passed check makes an Unavailable host Available again", async () => {
    ups = await startUpstreams(1);
    const refused = await refusingAddress();
    const tcp: HealthCheckSettings = { ...HTTP, kind: "tcp", http: null, intervalJitterMs: 0, unhealthyThreshold: 1, healthyThreshold: 1 };
    const t = checking([ups.addresses[0]!, refused], tcp);
    (t.host(0) as unknown as { setStatus(s: HostStatus): void }).setStatus(HostStatus.Unavailable);
    await t.step(10_000, 2);
    const byHost = Object.fromEntries(t.results.map((r) => [r.host, r.result]));
    expect(byHost).toEqual({ [ups.addresses[0]!]: { ok: true, detail: "connected" }, [refused]: { ok: false, detail: "ECONNREFUSED" } });
    expect([t.host(0).healthy, t.host(1).healthy]).toEqual([true, false]);
    expect(t.host(0).status).toBe(HostStatus.Available);
  });

  it("follows the host list: a new host is checked, a removed one no longer is; close clears its marks", async () => {
    ups = await startUpstreams(2);
    const refused = await refusingAddress();
    const t = checking([refused], { ...HTTP, kind: "tcp", http: null, intervalJitterMs: 0, unhealthyThreshold: 1 });
    await t.step(10_000, 1);
    const gone: Host = t.host(0);
    expect(gone.healthy).toBe(false);
    t.cluster.update([{ address: ups.addresses[0]!, weight: 1, tags: {} }, { address: refused, weight: 1, tags: {} }]);
    expect(t.checker.size).toBe(2);
    t.cluster.update([{ address: ups.addresses[0]!, weight: 1, tags: {} }, { address: ups.addresses[1]!, weight: 1, tags: {} }]);
    expect(t.checker.size).toBe(2);
    expect(t.clock.pending).toBe(2);
    await t.step(10_000, 2); // both joined at 10 s
    expect(t.results.slice(1).every((r) => r.host !== refused)).toBe(true);
    t.cluster.update([{ address: refused, weight: 1, tags: {} }]);
    await t.step(10_000, 1);
    expect(t.host(0).healthy).toBe(false);
    t.checker.close();
    expect(t.host(0).healthy).toBe(true);
    expect(t.clock.pending).toBe(0);
  });

  it("combines with outlier detection: healthy only when neither marks the host", async () => {
    ups = await startUpstreams(1);
    let status = 200;
    ups.list[0]!.behaviour = (req) => (req.url === "/healthz" ? { status } : {});
    const t = checking(ups.addresses, { ...HTTP, intervalJitterMs: 0, unhealthyThreshold: 1, healthyThreshold: 1 });
    const outliers = new OutlierDetector(t.cluster, { consecutiveFailures: 1, baseEjectionMs: 15_000, maxEjectionMs: 15_000 }, t.clock);
    closers.push(() => outliers.close());
    const h = t.host(0);
    // Ejected at 0 for 15 s; the checks at 10 s pass but do not bring it back.
    outliers.reportFailure(h);
    await t.step(10_000, 1);
    expect(t.results[0]!.result.ok).toBe(true);
    expect(h.healthy).toBe(false);
    // Failing checks at 20 s mark it: the ejection ended at 15 s, the host stays out.
    status = 500;
    await t.step(10_000, 1);
    expect(outliers.isEjected(h)).toBe(false);
    expect(h.healthy).toBe(false);
    status = 200;
    await t.step(10_000, 1);
    expect(h.healthy).toBe(true);
  });
});

describe("cluster.health_check in a config file", () => {
  const doc = (hc: unknown) => oneClusterConfig({ health_check: hc });
  const at = "cluster_manager.clusters[0].health_check";
  const problems = (hc: unknown) => {
    try {
      parseConfig(doc(hc), "hc.json");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems.map((p) => [p.path, p.message]);
    }
    throw new Error("expected a ConfigError");
  };

  it("reads MOSN's fields, with defaults, and warns about nothing it reads", () => {
    const { config, warnings } = parseConfig(doc({
      protocol: "Http1", timeout: "2s", interval: "5s", interval_jitter: "1s", healthy_threshold: 1, unhealthy_threshold: 4, service_name: "api",
      check_config: { http_check_config: { path: "/status", port: 9000, expected_statuses: [200, 299] } },
    }), "hc.json");
    expect(warnings).toEqual([]);
    expect(config.clusters[0]!.healthCheck).toEqual({
      kind: "http", timeoutMs: 2000, intervalMs: 5000, intervalJitterMs: 1000, healthyThreshold: 1, unhealthyThreshold: 4, serviceName: "api",
      http: { path: "/status", port: 9000, expectedStatuses: [200, 299] },
    });
    expect(parseConfig(doc({}), "hc.json").config.clusters[0]!.healthCheck).toEqual({
      kind: "tcp", timeoutMs: 1000, intervalMs: 10_000, intervalJitterMs: 0, healthyThreshold: 2, unhealthyThreshold: 3, serviceName: null, http: null,
    });
    expect(parseConfig(doc({ protocol: "http1" }), "hc.json").config.clusters[0]!.healthCheck!.http).toEqual({ path: "/", port: null, expectedStatuses: [200] });
    // http_check_config's own timeout wins for the HTTP check, as in MOSN.
    expect(parseConfig(doc({ protocol: "Http1", timeout: "3s", check_config: { http_check_config: { timeout: "500ms" } } }), "hc.json").config.clusters[0]!.healthCheck!.timeoutMs).toBe(500);
  });

  it("switchyard check validates health_check and circuit_breakers instead of ignoring them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sy-hc-check-"));
    try {
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
      const good = JSON.parse(doc({ protocol: "Http1", interval: "5s" })) as { cluster_manager: { clusters: Record<string, unknown>[] } };
      good.cluster_manager.clusters[0]!.circuit_breakers = [{ max_requests: 10 }];
      await writeFile(join(dir, "good.json"), JSON.stringify(good));
      expect(await check([join(dir, "good.json"), "--strict"], io)).toBe(0);
      expect(out.join("\n")).not.toMatch(/not supported/);
      await writeFile(join(dir, "bad.json"), doc({ interval: "never" }));
      expect(await check([join(dir, "bad.json")], io)).toBe(1);
      expect(err.join("\n")).toContain(`${at}.interval: expected a duration`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each<[string, unknown, string, RegExp]>([
    ["a protocol it does not check with", { protocol: "bolt" }, `${at}.protocol`, /expected "Http1" .* or "TCP"/],
    ["a zero interval", { interval: "0s" }, `${at}.interval`, /from 1 ms to 24h, got 0 ms/],
    ["a timeout that is not a duration", { timeout: "soon" }, `${at}.timeout`, /expected a duration/],
    ["a negative jitter", { interval_jitter: -5 }, `${at}.interval_jitter`, /non-negative/],
    ["a zero threshold", { unhealthy_threshold: 0 }, `${at}.unhealthy_threshold`, /integer from 1 to 1000, got 0/],
    ["a fractional threshold", { healthy_threshold: 1.5 }, `${at}.healthy_threshold`, /integer from 1 to 1000/],
    ["an HTTP check config on a TCP check", { check_config: { http_check_config: { path: "/h" } } }, `${at}.check_config.http_check_config`, /needs "protocol": "Http1"/],
    ["a path without its slash", { protocol: "Http1", check_config: { http_check_config: { path: "healthz" } } }, `${at}.check_config.http_check_config.path`, /starting with "\/"/],
    ["a port out of range", { protocol: "Http1", check_config: { http_check_config: { port: 70000 } } }, `${at}.check_config.http_check_config.port`, /1 to 65535/],
    ["no expected status", { protocol: "Http1", check_config: { http_check_config: { expected_statuses: [] } } }, `${at}.check_config.http_check_config.expected_statuses`, /at least one/],
    ["a status that is not one", { protocol: "Http1", check_config: { http_check_config: { expected_statuses: [200, 700] } } }, `${at}.check_config.http_check_config.expected_statuses[1]`, /100 to 599, got 700/],
    ["a health_check that is not an object", "yes", at, /expected an object/],
  ])("refuses %s, naming the field", (_what, hc, path, message) => {
    const found = problems(hc);
    expect(found).toHaveLength(1);
    expect(found[0]![0]).toBe(path);
    expect(found[0]![1]).toMatch(message);
  });
});

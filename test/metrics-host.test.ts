// Metrics of a real host: real upstreams on 127.0.0.1, the example bundles from build/plugins and the echo
// fixture (test/fixtures/echo/bundle, after `make build`), requests over HTTP. GET /metrics is answered by the
// real AdminServer given `metrics: () => metrics.scrape()` on port 0, because the host's own admin server
// cannot be handed the metrics after start until host.ts wires them (see host/metrics/metrics.ts).

import { once } from "node:events";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminToken } from "../host/admin/auth.js";
import { AdminServer } from "../host/admin/server.js";
import { parseConfig } from "../host/config/index.js";
import { attachMetrics, type SwitchyardMetrics } from "../host/metrics/metrics.js";
import { SwitchyardHost } from "../host/server/host.js";

const REPO = new URL("../", import.meta.url).pathname;

/** Parses the Prometheus text into "name{labels}" → value, labels in the order written. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function value(m: Map<string, number>, key: string): number {
  return m.get(key) ?? 0;
}

let clock = 0;
let host: SwitchyardHost;
let admin: AdminServer;
let adminUrl: string;
let proxyUrl: string;
let metrics: SwitchyardMetrics;
let root: string;
const upstreams: Server[] = [];
const addresses: string[] = [];

async function scrape(): Promise<{ contentType: string; values: Map<string, number>; text: string }> {
  const r = await fetch(`${adminUrl}/metrics`);
  const text = await r.text();
  return { contentType: r.headers.get("content-type") ?? "", values: parseMetrics(text), text };
}

async function get(path: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await fetch(proxyUrl + path, { headers });
  await r.arrayBuffer();
  return r.status;
}

/** Waits until the host has reported `n` more requests than `before` (the event follows the answer by a tick). */
function settle(before: number, n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (requestEvents < before + n) return;
      host.events.off("request", check);
      resolve();
    };
    // After the counting listener (beforeAll), so that the count is already up when this one looks.
    host.events.on("request", check);
    check();
  });
}

let requestEvents = 0;

beforeAll(async () => {
  for (const tags of [{ version: "v1" }, { version: "v1" }, { version: "canary" }]) {
    const s = createServer((req, res) => {
      req.resume();
      res.end(JSON.stringify(tags));
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    upstreams.push(s);
    addresses.push(`127.0.0.1:${(s.address() as AddressInfo).port}`);
  }
  root = await mkdtemp(join(tmpdir(), "switchyard-metrics-"));
  for (const p of ["deny", "header-canary"]) await cp(join(REPO, "build/plugins", p), join(root, "plugins", p), { recursive: true });
  await cp(join(REPO, "test/fixtures/echo/bundle"), join(root, "plugins", "echo"), { recursive: true });
  const cfg = {
    servers: [{
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "vh", domains: ["*"], routers: [
            { match: { prefix: "/echo" }, route: { cluster_name: "c", timeout: "5s", switchyard: { plugins: ["echo"], fallback: "any" } } },
            { match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s", switchyard: { plugins: ["deny", "header-canary"], fallback: "any" } } },
          ],
        }],
      }],
      listeners: [{ name: "main", address: "127.0.0.1:0", filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }] }] }],
    }],
    cluster_manager: { clusters: [{ name: "c", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", connect_timeout: "1s", hosts: addresses.map((a, i) => ({ address: a, metadata: { version: i === 2 ? "canary" : "v1" } })) }] },
    admin: { address: "127.0.0.1:0" },
  };
  const { config } = parseConfig(JSON.stringify(cfg), "metrics.json");
  host = new SwitchyardHost({
    config,
    pluginsDir: join(root, "plugins"),
    stateDir: join(root, "state"),
    logger: pino({ level: "silent" }),
    admin: false,
    watch: false,
    // Quarantine after 2 failures for 1000 ms of a clock the test moves.
    // Every chain run timed (the host's default times one in TIMING_EVERY), so that call counts can be compared.
    plugin: { clock: () => clock, quarantine: { threshold: 2, baseDelayMs: 1000, maxDelayMs: 1000 }, timingEvery: 1 },
  });
  metrics = attachMetrics(host);
  host.events.on("request", () => requestEvents++);
  await host.start();
  proxyUrl = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
  admin = new AdminServer({
    registry: host.registry,
    pusher: host.pusher,
    clusters: host.clusterAdmin(),
    token: new AdminToken(null),
    ready: () => true,
    metrics: () => metrics.scrape(),
    log: pino({ level: "silent" }),
  });
  const a = await admin.listen(0, "127.0.0.1");
  adminUrl = `http://127.0.0.1:${a.port}`;
});

afterAll(async () => {
  metrics?.detach();
  await admin?.close();
  await host?.stop();
  await Promise.all(upstreams.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })));
  if (root) await rm(root, { recursive: true, force: true });
});

const ROUTE = "servers[0].routers[0].virtual_hosts[0].routers[1]";
const ECHO = "servers[0].routers[0].virtual_hosts[0].routers[0]";

describe("GET /metrics", () => {
  it("is Prometheus text on its own registry, with plugin and host state before any traffic", async () => {
    const { contentType, values, text } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    // prom-client's default process metrics live on the global registry, never on ours.
    expect(text).not.toMatch(/process_cpu/);
    expect(value(values, 'switchyard_plugin_config_version{plugin="deny"}')).toBe(0);
    expect(value(values, 'switchyard_plugin_bundle_info{plugin="header-canary",version="1.0.0",order="10",sha256="' + host.registry.get("header-canary")!.bundle.metadata.sha256 + '"}')).toBe(1);
    for (const a of addresses) {
      expect(values.get(`switchyard_host_pending_requests{cluster="c",host="${a}"}`)).toBe(0);
      expect(values.get(`switchyard_host_connection_status{cluster="c",host="${a}",status="available"}`)).toBe(1);
      expect(values.get(`switchyard_host_healthy{cluster="c",host="${a}"}`)).toBe(1);
    }
    expect(text).not.toMatch(/switchyard_requests_total\{/);
  });

  it("reads the process's memory and each plugin's linear memory at scrape time", async () => {
    const { values } = await scrape();
    const rss = values.get("process_resident_memory_bytes")!;
    // Within what /proc says of this process a moment later (the same process: the host runs in the test's).
    expect(rss).toBeGreaterThan(20 * 2 ** 20);
    expect(Math.abs(rss - process.memoryUsage.rss()) / rss).toBeLessThan(0.5);
    expect(values.get("nodejs_heap_size_used_bytes")!).toBeLessThanOrEqual(values.get("nodejs_heap_size_total_bytes")!);
    expect(values.get("nodejs_external_memory_bytes")!).toBeGreaterThan(0);
    const wasm = values.get('switchyard_plugin_memory_bytes{plugin="header-canary"}')!;
    // Whole wasm pages, the same as the live instance's memory.
    expect(wasm % 65_536).toBe(0);
    expect(wasm).toBe(host.registry.get("header-canary")!.memoryBytes);
    expect(wasm).toBeGreaterThanOrEqual(65_536);
  });

  it("counts requests by listener, route, cluster and status class, and their durations", async () => {
    const before = (await scrape()).values;
    const n0 = requestEvents;
    expect(await get("/a")).toBe(200);
    expect(await get("/b")).toBe(200);
    expect(await get("/c", { "x-client": "bad-bot" })).toBe(403);
    await settle(n0, 3);
    const after = (await scrape()).values;
    const ok = `switchyard_requests_total{listener="main",route="${ROUTE}",cluster="c",status_class="2xx"}`;
    const denied = `switchyard_requests_total{listener="main",route="${ROUTE}",cluster="c",status_class="4xx"}`;
    expect(value(after, ok) - value(before, ok)).toBe(2);
    expect(value(after, denied) - value(before, denied)).toBe(1);
    const count = `switchyard_request_duration_seconds_count{listener="main",route="${ROUTE}",cluster="c"}`;
    expect(value(after, count) - value(before, count)).toBe(3);
    expect(value(after, `switchyard_request_duration_seconds_bucket{le="+Inf",listener="main",route="${ROUTE}",cluster="c"}`)).toBe(value(after, count));
    expect(value(after, `switchyard_request_duration_seconds_sum{listener="main",route="${ROUTE}",cluster="c"}`)).toBeGreaterThan(0);
    // Two were forwarded upstream; the denied one never left the host.
    const up = `switchyard_upstream_duration_seconds_count{listener="main",route="${ROUTE}",cluster="c"}`;
    expect(value(after, up) - value(before, up)).toBe(2);
  });

  it("counts per plugin: calls, verdicts, kept and dropped hosts", async () => {
    const before = (await scrape()).values;
    const n0 = requestEvents;
    expect(await get("/", { "x-canary": "1" })).toBe(200); // canary keeps 1 of 3
    expect(await get("/")).toBe(200); // header-canary drops the canary: keeps 2 of 3
    expect(await get("/", { "x-client": "bad-bot" })).toBe(403); // deny rejects; header-canary not called
    await settle(n0, 3);
    const after = (await scrape()).values;
    const d = (k: string) => value(after, k) - value(before, k);
    expect(d('switchyard_plugin_calls_total{plugin="deny"}')).toBe(3);
    expect(d('switchyard_plugin_verdicts_total{plugin="deny",verdict="accept"}')).toBe(2);
    expect(d('switchyard_plugin_verdicts_total{plugin="deny",verdict="reject"}')).toBe(1);
    expect(d('switchyard_plugin_calls_total{plugin="header-canary"}')).toBe(2);
    expect(d('switchyard_plugin_hosts_kept_total{plugin="header-canary"}')).toBe(1 + 2);
    expect(d('switchyard_plugin_hosts_dropped_total{plugin="header-canary"}')).toBe(2 + 1);
    expect(d('switchyard_plugin_hosts_dropped_total{plugin="deny"}')).toBe(0);
    // Every call is timed: as many observations as calls, each well under a second.
    expect(d('switchyard_plugin_call_duration_seconds_count{plugin="deny"}')).toBe(3);
    expect(d('switchyard_plugin_call_duration_seconds_count{plugin="header-canary"}')).toBe(2);
    const sum = d('switchyard_plugin_call_duration_seconds_sum{plugin="deny"}');
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(1);
  });

  it("counts failures by kind, a quarantine, skips while quarantined, and the recovery", async () => {
    const before = (await scrape()).values;
    const d = (after: Map<string, number>, k: string) => value(after, k) - value(before, k);
    // x-echo-keep naming a host that was not offered makes echo abort: a failure of kind "abort".
    const bad = { "x-echo-verdict": "accept", "x-echo-keep": "99" };
    // The echo fixture fails closed: each failure answers 503, and so does a request while it is quarantined.
    expect(await get("/echo", bad)).toBe(503);
    expect(await get("/echo", bad)).toBe(503); // second failure in a row: quarantined
    expect(await get("/echo", bad)).toBe(503); // skipped while quarantined
    const during = (await scrape()).values;
    expect(d(during, 'switchyard_plugin_failures_total{plugin="echo",kind="abort"}')).toBe(2);
    expect(d(during, 'switchyard_plugin_quarantines_total{plugin="echo"}')).toBe(1);
    expect(during.get('switchyard_plugin_quarantined{plugin="echo"}')).toBe(1);
    expect(d(during, 'switchyard_plugin_quarantined_skips_total{plugin="echo"}')).toBe(1);
    expect(d(during, 'switchyard_plugin_calls_total{plugin="echo"}')).toBe(2);
    clock += 1001; // the quarantine is over: the next call probes a fresh instance
    expect(await get("/echo", { "x-echo-verdict": "accept" })).toBe(200);
    const after = (await scrape()).values;
    expect(d(after, 'switchyard_plugin_recoveries_total{plugin="echo"}')).toBe(1);
    expect(after.get('switchyard_plugin_quarantined{plugin="echo"}')).toBe(0);
    expect(d(after, 'switchyard_plugin_verdicts_total{plugin="echo",verdict="accept"}')).toBe(1);
  });

  it("reads the config version of a plugin at scrape time, after a push", async () => {
    const v0 = (await scrape()).values.get('switchyard_plugin_config_version{plugin="header-canary"}');
    await host.pusher.push("header-canary", '{"header":"x-canary","values":["yes"]}');
    const v1 = (await scrape()).values.get('switchyard_plugin_config_version{plugin="header-canary"}');
    expect(v1).toBe((v0 ?? -1) + 1);
  });

  it("reads pending requests per host at scrape time", async () => {
    // A host gets a request that does not finish until the test lets it.
    let release: () => void = () => undefined;
    const slow = createServer((req, res) => {
      req.resume();
      release = () => res.end("late");
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", () => r()));
    const address = `127.0.0.1:${(slow.address() as AddressInfo).port}`;
    try {
      await host.clusterAdmin().replaceHosts("c", [{ address, metadata: { version: "v1" } }]);
      // The host counts a request pending when it picks the host, before the upstream has it.
      const arrived = once(slow, "request");
      const pending = fetch(proxyUrl + "/slow").then((r) => r.text());
      await arrived;
      expect((await scrape()).values.get(`switchyard_host_pending_requests{cluster="c",host="${address}"}`)).toBe(1);
      const values = (await scrape()).values;
      // Hosts no longer in the cluster are gone from the gauges.
      expect(values.has(`switchyard_host_pending_requests{cluster="c",host="${addresses[0]}"}`)).toBe(false);
      expect(values.get('switchyard_cluster_snapshot_version{cluster="c"}')).toBeGreaterThan(0);
      // The request's event comes once the forwarder is done with it, the host's pending count given back.
      const done = settle(requestEvents, 1);
      release();
      expect(await pending).toBe("late");
      await done;
      expect((await scrape()).values.get(`switchyard_host_pending_requests{cluster="c",host="${address}"}`)).toBe(0);
    } finally {
      await new Promise<void>((r) => { slow.close(() => r()); slow.closeAllConnections(); });
    }
  });
});

describe("SwitchyardMetrics.observe", () => {
  it("counts retries when a request event carries attempts, and status 0 as class none", async () => {
    const before = parseMetrics((await metrics.scrape()).body);
    const e = { listener: "l", route: "r", cluster: "k", status: 0, steps: [], durationMs: 2, attempts: 3 };
    metrics.observe(e);
    const after = parseMetrics((await metrics.scrape()).body);
    expect(value(after, 'switchyard_upstream_retries_total{listener="l",route="r",cluster="k"}') - value(before, 'switchyard_upstream_retries_total{listener="l",route="r",cluster="k"}')).toBe(2);
    expect(value(after, 'switchyard_requests_total{listener="l",route="r",cluster="k",status_class="none"}')).toBe(1);
  });
});

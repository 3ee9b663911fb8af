// Reloading the main config file in process (issue 16): SwitchyardHost.reloadFromFile on real config files in
// a temp folder, real upstreams and a real admin API. A reload under load (8 clients, a bounded number of
// requests, 40 reloads that move the route between clusters and add and remove a cluster and a listener) fails
// no request; a request in flight when its cluster is removed finishes on the routing it took; every kind of
// bad file is refused with nothing changed and says why in GET /config, the metrics and the log; listeners
// are added and removed; --watch-config's poller reloads on a changed file on an injected clock.

import { once } from "node:events";
import http from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net, { type AddressInfo } from "node:net";
import pino from "pino";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigFile } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { ConfigFileWatcher } from "../host/server/config-watcher.js";
import type { ReloadOutcome } from "../host/server/reload.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { memoryLog } from "./helpers/memory-log.js";
import { clusterJson } from "./helpers/switchyard.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const TOKEN = "reload-token";
let root: string;
let file: string;
let a: Upstream;
let b: Upstream;
let host: SwitchyardHost;
const logs: Record<string, unknown>[] = [];

interface Shape {
  /** The cluster the catch-all route goes to. */
  target: string;
  /** Clusters besides "a" and "b", each on upstream b. */
  more?: string[];
  /** Listeners besides "main" (name → address). */
  listeners?: Record<string, string>;
  /** Route /hold/ to this cluster (the in-flight test's held upstream). */
  hold?: string;
  mutate?: (doc: Record<string, any>) => void;
}

function listener(name: string, address: string): object {
  return { name, address, filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }] }] };
}

function doc(s: Shape, holdAddress = "127.0.0.1:1"): Record<string, any> {
  const clusters = [clusterJson({ name: "a", hosts: [a.address] }), clusterJson({ name: "b", hosts: [b.address] }), ...(s.more ?? []).map((n) => clusterJson({ name: n, hosts: [b.address] }))];
  if (s.hold !== undefined) clusters.push(clusterJson({ name: s.hold, hosts: [holdAddress] }));
  const routes: object[] = [];
  if (s.hold !== undefined) routes.push({ match: { prefix: "/hold/" }, route: { cluster_name: s.hold } });
  routes.push({ match: { prefix: "/" }, route: { cluster_name: s.target } });
  const d: Record<string, any> = {
    servers: [{
      routers: [{ router_config_name: "r", virtual_hosts: [{ name: "any", domains: ["*"], routers: routes }] }],
      listeners: [listener("main", "127.0.0.1:0"), ...Object.entries(s.listeners ?? {}).map(([n, addr]) => listener(n, addr))],
    }],
    cluster_manager: { clusters },
    admin: { address: "127.0.0.1:0" },
  };
  s.mutate?.(d);
  return d;
}

async function write(s: Shape | string, holdAddress?: string): Promise<void> {
  await writeFile(file, typeof s === "string" ? s : JSON.stringify(doc(s, holdAddress)));
}

const proxy = (name = "main") => `http://127.0.0.1:${host.servers.find((s) => s.name === name)!.address!.port}`;
const admin = () => `http://127.0.0.1:${host.adminAddress!.port}`;

async function upstreamOf(url = proxy(), agent?: Agent): Promise<string> {
  const res = await request(`${url}/x`, agent ? { dispatcher: agent } : {});
  const text = await res.body.text();
  if (res.statusCode !== 200) return `status ${res.statusCode}: ${text}`;
  return (JSON.parse(text) as { upstream: string }).upstream;
}

/** A new TCP connection to a port: "connected" or the error code. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function configStatus(): Promise<{ generation: number; source: string; reloads: { applied: number; refused: number }; lastReload: ReloadOutcome | null }> {
  return (await (await request(`${admin()}/config`)).body.json()) as never;
}

async function metric(name: string): Promise<string[]> {
  const text = await (await request(`${admin()}/metrics`)).body.text();
  return text.split("\n").filter((l) => l.startsWith(name));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-reload-"));
  file = join(root, "config.json");
  a = await startUpstream("a");
  b = await startUpstream("b");
  await write({ target: "a" });
  const { config } = await loadConfigFile(file);
  host = new SwitchyardHost({ config, logger: pino({ level: "info" }, memoryLog(logs)), env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
  await host.start();
});

afterAll(async () => {
  for (const s of host?.servers ?? []) s.server.closeAllConnections();
  await host?.stop();
  await a?.close();
  await b?.close();
  await rm(root, { recursive: true, force: true });
});

describe("config reload", () => {
  it("moves traffic under load with 0 failed requests: 40 reloads, 8 clients, 1,600 requests", async () => {
    const agent = new Agent({ connections: 8 });
    const seen = new Map<string, number>();
    const failures: string[] = [];
    let reloads = 0;
    let stop = false;
    const REQUESTS = 1_600;
    let sent = 0;
    const client = async () => {
      while (sent < REQUESTS && !stop) {
        sent++;
        const who = await upstreamOf(proxy(), agent).catch((err: Error) => `error ${err.message}`);
        if (who === "a" || who === "b") seen.set(who, (seen.get(who) ?? 0) + 1);
        else failures.push(who);
      }
    };
    const reloader = async () => {
      for (let i = 1; i <= 40; i++) {
        // Odd: to b with a cluster c and a listener "extra"; even: back to a without them.
        await write(i % 2 === 1 ? { target: "b", more: ["c"], listeners: { extra: "127.0.0.1:0" } } : { target: "a" });
        const o = await host.reloadFromFile();
        if (!o.ok) failures.push(`reload ${i}: ${o.error!.code} ${o.error!.message}`);
        reloads++;
      }
    };
    await Promise.all([reloader(), ...Array.from({ length: 8 }, client)]);
    stop = true;
    await agent.close();
    expect(failures).toEqual([]);
    expect(reloads).toBe(40);
    expect(seen.get("a")! + seen.get("b")!).toBe(sent);
    expect(seen.get("b") ?? 0).toBeGreaterThan(0);
    // The last reload (even) routes to a, with one listener and clusters a, b.
    expect(await upstreamOf()).toBe("a");
    expect(host.servers.map((s) => s.name)).toEqual(["main"]);
    expect(host.clusters.names().sort()).toEqual(["a", "b"]);
    expect((await configStatus()).reloads.applied).toBeGreaterThanOrEqual(40);
  }, 60_000);

  it("lets a request in flight finish on the routing it took, its cluster removed by the reload", async () => {
    // An upstream that holds each request until told to answer.
    const held: http.ServerResponse[] = [];
    const arrived: (() => void)[] = [];
    const slow = http.createServer((_req, res) => {
      held.push(res);
      arrived.shift()?.();
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", () => r()));
    const slowAddress = `127.0.0.1:${(slow.address() as AddressInfo).port}`;
    try {
      await write({ target: "a", hold: "slow" }, slowAddress);
      expect((await host.reloadFromFile()).ok).toBe(true);
      const there = new Promise<void>((r) => arrived.push(r));
      const inFlight = request(`${proxy()}/hold/1`);
      await there;
      // The reload removes cluster "slow" and its route; the request in flight still ends with its answer.
      await write({ target: "b" });
      const o = await host.reloadFromFile();
      expect(o.ok).toBe(true);
      expect(o.clusters).toEqual({ added: [], removed: ["slow"] });
      expect(host.clusters.get("slow")).toBeUndefined();
      held[0]!.end("held answer");
      const res = await inFlight;
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe("held answer");
      // The next /hold/ request routes with the new config: the catch-all to b.
      expect(await upstreamOf(`${proxy()}/hold`)).toBe("b");
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
      await write({ target: "a" });
      await host.reloadFromFile();
    }
  });

  it("adds a listener and removes it", async () => {
    await write({ target: "a", listeners: { second: "127.0.0.1:0" } });
    const added = await host.reloadFromFile();
    expect(added.listeners).toEqual({ added: ["second"], removed: [], replaced: [] });
    const second = proxy("second");
    expect(await upstreamOf(second)).toBe("a");
    const port = host.servers.find((s) => s.name === "second")!.address!.port;
    expect(logs.some((l) => l.msg === "listener started" && l.listener === "second")).toBe(true);

    await write({ target: "a" });
    const removed = await host.reloadFromFile();
    expect(removed.listeners).toEqual({ added: [], removed: ["second"], replaced: [] });
    expect(host.servers.map((s) => s.name)).toEqual(["main"]);
    expect(await connectOutcome(port)).toBe("ECONNREFUSED");
    expect(await upstreamOf()).toBe("a");
  });

  it("replaces a listener whose HTTP/1.1 codec changed: the new codec serves", async () => {
    const codec = (c: string) => ({ target: "a", listeners: { coded: "127.0.0.3:0" }, mutate: (d: Record<string, any>) => {
      d.servers[0].listeners.find((l: { name: string }) => l.name === "coded").switchyard = { http1_codec: c };
    } });
    await write(codec("node"));
    await host.reloadFromFile();
    await write(codec("llhttp"));
    const o = await host.reloadFromFile();
    expect(o.listeners).toEqual({ added: [], removed: [], replaced: ["coded"] });
    const entry = host.servers.find((s) => s.name === "coded")!;
    expect(entry.config.http1Codec).toBe("llhttp");
    expect(await upstreamOf(`http://127.0.0.3:${entry.address!.port}`)).toBe("a");
    await write({ target: "a" });
    await host.reloadFromFile();
  });

  it("replaces a listener whose address changed, on its new address", async () => {
    await write({ target: "a", listeners: { moving: "127.0.0.1:0" } });
    await host.reloadFromFile();
    const before = host.servers.find((s) => s.name === "moving")!.address!.port;
    await write({ target: "a", listeners: { moving: "127.0.0.2:0" } });
    const o = await host.reloadFromFile();
    expect(o.listeners).toEqual({ added: [], removed: [], replaced: ["moving"] });
    const entry = host.servers.find((s) => s.name === "moving")!;
    expect(entry.address!.address).toBe("127.0.0.2");
    expect(await upstreamOf(`http://127.0.0.2:${entry.address!.port}`)).toBe("a");
    expect(await connectOutcome(before)).toBe("ECONNREFUSED");
    await write({ target: "a" });
    await host.reloadFromFile();
  });
});

describe("config reload: a listener bound again on its own address", () => {
  /** A port nothing listens on now, on 127.0.0.1. */
  async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  /** A request on a connection of its own (a pooled one may be the old listener's, closed by the reload). */
  async function fresh(url: string): Promise<string> {
    const agent = new Agent({ pipelining: 0 });
    try {
      return await upstreamOf(url, agent);
    } finally {
      await agent.close();
    }
  }

  it("is refused, changing nothing, when another socket takes the port in between; the old listener serves again", async () => {
    const port = await freePort();
    const shape = (target: string, codec: string) => ({ target, listeners: { fixed: `127.0.0.1:${port}` }, mutate: (d: Record<string, any>) => {
      d.servers[0].listeners.find((l: { name: string }) => l.name === "fixed").switchyard = { http1_codec: codec };
    } });
    await write(shape("a", "node"));
    expect((await host.reloadFromFile()).ok).toBe(true);
    const generation = (await configStatus()).generation;
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () => new Promise<{ status: number; body: string; reused: boolean }>((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/x", agent: keepAlive }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, body, reused: req.reusedSocket }));
      });
      req.on("error", reject);
    });
    try {
      expect((await get()).status).toBe(200);
      // The moment the old socket frees the port, another one takes it (and lets it go once it holds it).
      const other = net.createServer();
      let taken = false;
      host.events.once("listener-released", (name: string) => {
        expect(name).toBe("fixed");
        other.listen(port, "127.0.0.1", () => {
          taken = true;
          other.close();
        });
      });
      await write(shape("b", "llhttp"));
      const o = await host.reloadFromFile();
      expect(taken).toBe(true);
      expect(o.ok).toBe(false);
      expect(o.error!.code).toBe("E_LISTEN");
      expect(o.error!.path).toBe("servers[0].listeners[1]");
      expect(o.error!.message).toBe(`listener fixed: cannot listen on 127.0.0.1:${port}: the port is in use; nothing changed: the old listener took its address back and serves with its old settings`);
      expect((await configStatus()).generation).toBe(generation);
      const entry = host.servers.find((s) => s.name === "fixed")!;
      expect(entry.config.http1Codec).toBe("node");
      expect(host.servers.filter((s) => s.name === "fixed")).toHaveLength(1);
      // The connection from before the reload still serves, on the old routing (cluster a, not b) ...
      const kept = await get();
      expect(kept).toMatchObject({ status: 200, reused: true });
      expect(JSON.parse(kept.body).upstream).toBe("a");
      // ... and so does a new connection to the old socket.
      keepAlive.destroy();
      expect(await fresh(`http://127.0.0.1:${port}`)).toBe("a");
      expect(logs.some((l) => l.event === "listener-rebound" && l.listener === "fixed")).toBe(true);
      expect(logs.some((l) => l.event === "config-refused" && l.code === "E_LISTEN")).toBe(true);

      // The same change with the port left alone applies, on the same port.
      await write(shape("b", "llhttp"));
      const applied = await host.reloadFromFile();
      expect(applied.ok).toBe(true);
      expect(applied.listeners).toEqual({ added: [], removed: [], replaced: ["fixed"] });
      expect(host.servers.find((s) => s.name === "fixed")!.config.http1Codec).toBe("llhttp");
      expect(await fresh(`http://127.0.0.1:${port}`)).toBe("b");
    } finally {
      keepAlive.destroy();
      await write({ target: "a" });
      await host.reloadFromFile();
    }
  });
});

describe("config reload: health checks and outlier detection", () => {
  it("keeps a cluster's checker and detector when their settings stay, and replaces them when they change", async () => {
    const withChecks = (interval: string, consecutive: number) => ({ target: "a", mutate: (d: Record<string, any>) => {
      d.cluster_manager.clusters[0].health_check = { protocol: "Http1", timeout: "1s", interval, interval_jitter: "0s", unhealthy_threshold: 2, healthy_threshold: 1 };
      d.cluster_manager.clusters[0].outlier_detection = { consecutive_5xx: consecutive };
    } });
    await write(withChecks("30s", 5));
    expect((await host.reloadFromFile()).ok).toBe(true);
    const checker = host.healthChecker("a");
    const detector = host.outlierDetector("a");
    expect(checker).toBeDefined();
    expect(detector).toBeDefined();
    // Only the route changes: both stay, with their state.
    await write({ ...withChecks("30s", 5), target: "b" });
    expect((await host.reloadFromFile()).ok).toBe(true);
    expect(host.healthChecker("a")).toBe(checker);
    expect(host.outlierDetector("a")).toBe(detector);
    // Their settings change: new ones.
    await write(withChecks("20s", 3));
    expect((await host.reloadFromFile()).ok).toBe(true);
    expect(host.healthChecker("a")).not.toBe(checker);
    expect(host.healthChecker("a")).toBeDefined();
    expect(host.outlierDetector("a")).not.toBe(detector);
    // Gone from the file: none.
    await write({ target: "a" });
    expect((await host.reloadFromFile()).ok).toBe(true);
    expect(host.healthChecker("a")).toBeUndefined();
    expect(host.outlierDetector("a")).toBeUndefined();
  });
});

describe("a bad reload file changes nothing and says why", () => {
  const held = http.createServer();
  let heldPort = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => held.listen(0, "127.0.0.1", () => r()));
    heldPort = (held.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => held.close(() => r()));
  });

  const cases: { what: string; text: () => string; code: string; path?: string }[] = [
    { what: "not JSON", text: () => '{"servers": [', code: "E_CONFIG_INVALID" },
    { what: "empty", text: () => "", code: "E_CONFIG_INVALID" },
    { what: "a field of the wrong type", text: () => JSON.stringify(doc({ target: "a", mutate: (d) => (d.cluster_manager.clusters[0].lb_type = 7) })), code: "E_CONFIG_INVALID", path: "cluster_manager.clusters[0].lb_type" },
    { what: "a route to a cluster that does not exist", text: () => JSON.stringify(doc({ target: "nowhere" })), code: "E_CONFIG_INVALID" },
    { what: "a host address that is not one", text: () => JSON.stringify(doc({ target: "a", mutate: (d) => (d.cluster_manager.clusters[0].hosts[0].address = "not an address") })), code: "E_CONFIG_INVALID" },
    { what: "two listeners on one name", text: () => JSON.stringify(doc({ target: "a", mutate: (d) => d.servers[0].listeners.push(listener("main", "127.0.0.1:0")) })), code: "E_CONFIG_INVALID" },
    { what: "a TLS listener whose certificate file is missing", text: () => JSON.stringify(doc({ target: "a", mutate: (d) => d.servers[0].listeners.push({ ...listener("tls", "127.0.0.1:0"), filter_chains: [{ tls_context: { status: true, cert_chain: join(root, "missing.pem"), private_key: join(root, "missing.key") }, filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }] }] }) })), code: "E_TLS_CREDENTIALS" },
    { what: "a new listener on a port in use", text: () => JSON.stringify(doc({ target: "b", listeners: { taken: `127.0.0.1:${heldPort}` } })), code: "E_LISTEN" },
    { what: "a change of admin.address (read at start only)", text: () => JSON.stringify(doc({ target: "b", mutate: (d) => (d.admin.address = "127.0.0.1:1") })), code: "E_RELOAD_RESTART_REQUIRED", path: "admin.address" },
    { what: "a change of switchyard.log_level (read at start only)", text: () => JSON.stringify(doc({ target: "b", mutate: (d) => (d.switchyard = { log_level: "debug" }) })), code: "E_RELOAD_RESTART_REQUIRED", path: "switchyard.log_level" },
    { what: "a change of switchyard.plugins_dir (read at start only)", text: () => JSON.stringify(doc({ target: "b", mutate: (d) => (d.switchyard = { plugins_dir: join(root, "p") }) })), code: "E_RELOAD_RESTART_REQUIRED", path: "switchyard.plugins_dir" },
  ];

  for (const c of cases) {
    it(`refuses ${c.what}`, async () => {
      await write({ target: "a" });
      expect((await host.reloadFromFile()).ok).toBe(true);
      const before = await configStatus();
      const config = host.config;
      const listeners = host.servers.map((s) => `${s.name} ${s.address!.port}`);
      const refusedBefore = (await metric('switchyard_config_reloads_total{result="refused"}'))[0]?.split(" ")[1] ?? "0";

      await writeFile(file, c.text());
      const o = await host.reloadFromFile();
      expect(o.ok).toBe(false);
      expect(o.error!.code).toBe(c.code);
      if (c.path !== undefined) expect(o.error!.path).toBe(c.path);
      expect(o.error!.message.length).toBeGreaterThan(10);
      // Nothing changed: the config object, the listeners, the clusters, the routing, the generation.
      expect(host.config).toBe(config);
      expect(host.servers.map((s) => `${s.name} ${s.address!.port}`)).toEqual(listeners);
      expect(host.clusters.names().sort()).toEqual(["a", "b"]);
      expect(await upstreamOf()).toBe("a");
      // And it says why: GET /config, the metrics, the log.
      const after = await configStatus();
      expect(after.generation).toBe(before.generation);
      expect(after.lastReload).toMatchObject({ ok: false, error: { code: c.code } });
      expect(after.reloads.refused).toBe(before.reloads.refused + 1);
      expect(await metric("switchyard_config_last_reload_successful")).toEqual(["switchyard_config_last_reload_successful 0"]);
      expect(await metric('switchyard_config_reloads_total{result="refused"}')).toEqual([`switchyard_config_reloads_total{result="refused"} ${Number(refusedBefore) + 1}`]);
      expect(logs.filter((l) => l.event === "config-refused").at(-1)).toMatchObject({ code: c.code, level: 50 });
    });
  }

  it("refuses a file that cannot be read", async () => {
    const o = await host.reloadFromFile(join(root, "no-such.json"));
    expect(o).toMatchObject({ ok: false, error: { code: "E_CONFIG_READ" } });
    expect(await upstreamOf()).toBe("a");
  });

  it("applies the next good file after a refusal", async () => {
    await write({ target: "b" });
    const o = await host.reloadFromFile();
    expect(o.ok).toBe(true);
    expect(await upstreamOf()).toBe("b");
    expect(await metric("switchyard_config_last_reload_successful")).toEqual(["switchyard_config_last_reload_successful 1"]);
    expect((await configStatus()).generation).toBe(o.generation);
  });
});

describe("--watch-config's poller", () => {
  it("reloads when the file's bytes change, on an injected clock, and not when they do not", async () => {
    const clock = new ManualClock();
    let reloads = 0;
    const watcher = new ConfigFileWatcher({ file, clock, pollMs: 1_000, changed: async () => { reloads++; return host.reloadFromFile(); } });
    await write({ target: "a" });
    await watcher.start();
    expect(clock.pending).toBe(1);
    // Unchanged bytes: no reload.
    expect(await watcher.poll()).toBe(false);
    await write({ target: "b" });
    const reloaded = once(host.events, "config-reload");
    clock.advance(1_000);
    const [outcome] = (await reloaded) as [ReloadOutcome];
    expect(outcome.ok).toBe(true);
    expect(reloads).toBe(1);
    expect(await upstreamOf()).toBe("b");
    watcher.stop();
    expect(clock.pending).toBe(0);
  });
});

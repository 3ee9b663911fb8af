// The log lines an operator reads, captured from a real host through a pino destination: the access log
// (route, cluster, host, status, duration, chain summary) and the plugin lifecycle (loaded, swapped, refused,
// configured, rejected config, failed, quarantined, recovered, unloaded).

import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { Changes } from "./helpers/changes.js";
import { memoryLog } from "./helpers/memory-log.js";

const REPO = new URL("../", import.meta.url).pathname;
const TOKEN = "lifecycle-token";

let root: string;
let plugins: string;
let host: SwitchyardHost;
let proxyUrl: string;
let adminUrl: string;
let clock = 0;
const upstreams: Server[] = [];
const addresses: string[] = [];
const lines: Record<string, unknown>[] = [];
const startLines: Record<string, unknown>[] = [];
const changes = new Changes();

async function get(path: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await fetch(proxyUrl + path, { headers });
  await r.arrayBuffer();
  return r.status;
}

function byEvent(event: string): Record<string, unknown>[] {
  return lines.filter((l) => l.event === event);
}

/** The access log line of the last request, once written (it follows the answer): waited for as lines arrive. */
function lastAccess(): Promise<Record<string, unknown>> {
  return changes.until("an access log line", () => lines.filter((x) => x.msg === "request").at(-1), 2_000);
}

beforeAll(async () => {
  for (const version of ["v1", "canary"]) {
    const s = createServer((req, res) => {
      req.resume();
      res.end(version);
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    upstreams.push(s);
    addresses.push(`127.0.0.1:${(s.address() as AddressInfo).port}`);
  }
  root = await mkdtemp(join(tmpdir(), "switchyard-lifecycle-"));
  plugins = join(root, "plugins");
  for (const p of ["deny", "header-canary"]) await cp(join(REPO, "build/plugins", p), join(plugins, p), { recursive: true });
  await cp(join(REPO, "test/fixtures/echo/bundle"), join(plugins, "echo"), { recursive: true });
  const cfg = {
    servers: [{
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "vh", domains: ["*"], routers: [
            { match: { prefix: "/echo" }, route: { cluster_name: "c", timeout: "5s", switchyard: { plugins: ["echo"] } } },
            { match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s", switchyard: { plugins: ["deny", "header-canary"], fallback: "any" } } },
          ],
        }],
      }],
      listeners: [{ name: "main", address: "127.0.0.1:0", filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }] }] }],
    }],
    cluster_manager: { clusters: [{ name: "c", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: addresses[0], metadata: { version: "v1" } }, { address: addresses[1], metadata: { version: "canary" } }] }] },
    admin: { address: "127.0.0.1:0" },
  };
  const { config } = parseConfig(JSON.stringify(cfg), "lifecycle.json");
  const logger = pino({ level: "info" }, memoryLog(lines, changes));
  host = new SwitchyardHost({
    config,
    logger,
    pluginsDir: plugins,
    stateDir: join(root, "state"),
    env: { SWITCHYARD_ADMIN_TOKEN: TOKEN },
    watch: false, // the test scans when it changed the folder
    plugin: { clock: () => clock, quarantine: { threshold: 2, baseDelayMs: 1000, maxDelayMs: 1000 } },
  });
  await host.start();
  startLines.push(...lines);
  proxyUrl = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
  adminUrl = `http://127.0.0.1:${host.adminAddress!.port}`;
});

afterAll(async () => {
  await host?.stop();
  await Promise.all(upstreams.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })));
  if (root) await rm(root, { recursive: true, force: true });
});

describe("access log", () => {
  it("says route, cluster, upstream host, status, duration and what each plugin did", async () => {
    lines.length = 0;
    expect(await get("/x", { "x-canary": "1" })).toBe(200);
    const l = await lastAccess();
    expect(l).toMatchObject({
      component: "access", listener: "main", route: "servers[0].routers[0].virtual_hosts[0].routers[1]", cluster: "c",
      method: "GET", path: "/x", status: 200, upstream: addresses[1], attempts: 1, chain: "deny:2>2 header-canary:2>1", level: 30,
    });
    expect(typeof l.durationMs).toBe("number");
  });

  it("logs a verdict with the plugin that gave it", async () => {
    lines.length = 0;
    expect(await get("/x", { "x-client": "bad-bot" })).toBe(403);
    expect(await lastAccess()).toMatchObject({ status: 403, upstream: null, chain: "deny:2>0:reject", plugin: "deny", route: "servers[0].routers[0].virtual_hosts[0].routers[1]" });
  });
});

describe("plugin lifecycle log lines", () => {
  it("loaded: one line per bundle at start, with version, order and sha256", () => {
    const loaded = startLines.filter((l) => l.event === "loaded");
    expect(loaded.map((l) => l.plugin).sort()).toEqual(["deny", "echo", "header-canary"]);
    expect(loaded.find((l) => l.plugin === "deny")).toMatchObject({ component: "plugins", version: "1.0.0", order: 5, msg: "plugin bundle loaded" });
    expect(String(loaded[0]!.sha256)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("swapped: a changed bundle", async () => {
    lines.length = 0;
    const file = join(plugins, "deny", "metadata.json");
    const meta = JSON.parse(await readFile(file, "utf8")) as { version: string };
    await writeFile(file, JSON.stringify({ ...meta, version: "1.0.1" }));
    await host.watcher!.scan();
    expect(byEvent("swapped")).toMatchObject([{ plugin: "deny", version: "1.0.1", msg: "plugin bundle swapped", level: 30 }]);
  });

  it("refused: a bad bundle, with its code, and what keeps serving", async () => {
    lines.length = 0;
    await cp(join(REPO, "test/fixtures/wrong-abi/bundle"), join(plugins, "wrong-abi"), { recursive: true });
    await host.watcher!.scan();
    expect(byEvent("refused")).toMatchObject([{ code: "E_BUNDLE_ABI_VERSION", msg: "plugin bundle refused", level: 50, serving: null }]);
  });

  it("configured and config-rejected: pushes through the admin API", async () => {
    lines.length = 0;
    const put = (body: string) => fetch(`${adminUrl}/plugins/header-canary/config`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body });
    expect((await put('{"header":"x-canary","values":["yes"]}')).status).toBe(200);
    expect((await put('{"header":"x-canary","values":["yes"],"others":"some"}')).status).toBe(400);
    expect(byEvent("configured")).toMatchObject([{ plugin: "header-canary", configVersion: 1, level: 30 }]);
    expect(byEvent("config-rejected")).toMatchObject([{ plugin: "header-canary", level: 40 }]);
    expect(String(byEvent("config-rejected")[0]!.reason)).toMatch(/others/);
  });

  it("failed, quarantined, recovered: a plugin that aborts, then answers again", async () => {
    lines.length = 0;
    const bad = { "x-echo-verdict": "accept", "x-echo-keep": "99" };
    expect(await get("/echo", bad)).toBe(503);
    expect(await get("/echo", bad)).toBe(503);
    expect(byEvent("failed")).toHaveLength(2);
    expect(byEvent("failed")[0]).toMatchObject({ plugin: "echo", version: "1.0.0", kind: "abort", level: 40 });
    expect(String(byEvent("failed")[0]!.err)).toMatch(/x-echo-keep lists 99/);
    expect(byEvent("quarantined")).toMatchObject([{ plugin: "echo", failures: 2, retryInMs: expect.any(Number), level: 50 }]);
    clock += 1001;
    expect(await get("/echo", { "x-echo-verdict": "accept" })).toBe(200);
    expect(byEvent("recovered")).toMatchObject([{ plugin: "echo", level: 30, msg: "plugin recovered from quarantine" }]);
  });

  it("unloaded: a removed bundle", async () => {
    lines.length = 0;
    await rm(join(plugins, "echo"), { recursive: true });
    await host.watcher!.scan();
    expect(byEvent("unloaded")).toMatchObject([{ plugin: "echo", msg: "plugin bundle removed" }]);
    expect(host.registry.get("echo")).toBeUndefined();
  });
});

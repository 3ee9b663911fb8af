// Readiness that tells the truth, over a real host and real bundles: /readyz answers 503 and names the
// plugin a route requires while it is not loaded, and why (its bundle refused: code and message); a refused
// bundle is listed by GET /plugins with state "refused" and counted in /metrics; once a good bundle loads,
// /readyz answers 200 and the refusal is gone. A plugin the route lists in optional_plugins is not awaited.
// The watcher does not watch here: each step scans once, so nothing waits on time.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { request } from "undici";
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { ConfigError } from "../host/config/errors.js";
import { SwitchyardHost } from "../host/server/host.js";
import { canaryVariant, hostConfig, memoryLog } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

let root: string;
let upstream: Upstream;
let host: SwitchyardHost | undefined;
const logs: Record<string, unknown>[] = [];

function config(switchyard: Record<string, unknown>) {
  const cfg = hostConfig({ hosts: [{ address: upstream.address, tags: { version: "canary" } }] }) as { servers: { routers: { virtual_hosts: { routers: { route: { switchyard: unknown } }[] }[] }[] }[] };
  cfg.servers[0]!.routers[0]!.virtual_hosts[0]!.routers[0]!.route.switchyard = { fallback: "any", ...switchyard };
  return parseConfig(JSON.stringify(cfg), "ready.json").config;
}

async function start(switchyard: Record<string, unknown>, pluginsDir: string): Promise<SwitchyardHost> {
  host = new SwitchyardHost({ config: config(switchyard), pluginsDir, stateDir: null, logger: pino({ level: "info" }, memoryLog(logs)), env: {}, watch: false, persist: false });
  await host.start();
  return host;
}

const admin = () => `http://127.0.0.1:${host!.adminAddress!.port}`;
async function getJson(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`${admin()}${path}`);
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}
async function metrics(): Promise<string> {
  return (await request(`${admin()}/metrics`)).body.text();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-ready-"));
  upstream = await startUpstream("canary0");
});
afterEach(() => stop());
afterAll(async () => {
  await upstream?.close();
  await rm(root, { recursive: true, force: true });
});

describe("/readyz", () => {
  it("is 503 naming the missing plugin and its refused bundle, then 200 once a good bundle loads", async () => {
    const dir = join(root, "p1");
    const bundle = join(dir, "header-canary");
    await canaryVariant(bundle, { version: "1.0.0", tagValue: "canary" });
    const good = await readFile(join(bundle, "metadata.json"), "utf8");
    // A default config the plugin's configure rejects (no "header"): the bundle is refused at start.
    const bad = JSON.parse(good) as Record<string, unknown>;
    bad.defaultConfig = JSON.stringify({ values: ["1"] });
    await writeFile(join(bundle, "metadata.json"), JSON.stringify(bad));

    const h = await start({ plugins: ["header-canary"] }, dir);
    const where = h.config.routerConfigs[0]!.virtualHosts[0]!.routes[0]!.where;
    const notReady = await getJson("/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({
      status: "missing-plugins",
      missing: [{ plugin: "header-canary", routes: [where], refused: { name: "header-canary", dir: bundle, code: "E_BUNDLE_CONFIG_REJECTED" } }],
    });
    expect(String((notReady.body.missing as { refused: { message: string } }[])[0]!.refused.message)).toMatch(/rejected the default config/);
    expect(logs.find((l) => l.event === "not-ready")).toMatchObject({ plugin: "header-canary", routes: [where], refused: "E_BUNDLE_CONFIG_REJECTED" });

    const listed = await getJson("/plugins");
    expect(listed.body.plugins).toEqual([{ name: "header-canary", dir: bundle, state: "refused", code: "E_BUNDLE_CONFIG_REJECTED", message: expect.stringMatching(/rejected the default config/) }]);
    let text = await metrics();
    expect(text).toContain(`switchyard_plugin_bundles_refused{dir="${bundle}",plugin="header-canary",code="E_BUNDLE_CONFIG_REJECTED"} 1`);
    expect(text).toContain(`switchyard_plugin_bundle_refusals_total{code="E_BUNDLE_CONFIG_REJECTED"} 1`);

    // The good metadata back: loaded at the next scan, ready, and the refusal is no longer listed.
    await writeFile(join(bundle, "metadata.json"), good);
    expect((await h.watcher!.scan()).loaded).toEqual(["header-canary"]);
    const ready = await getJson("/readyz");
    expect(ready).toEqual({ status: 200, body: { status: "ready", missing: [], refused: [] } });
    const after = (await getJson("/plugins")).body.plugins as { name: string; state: string }[];
    expect(after.map((p) => [p.name, p.state])).toEqual([["header-canary", "ready"]]);
    text = await metrics();
    expect(text).not.toContain("switchyard_plugin_bundles_refused{");
    expect(text).toContain(`switchyard_plugin_bundle_refusals_total{code="E_BUNDLE_CONFIG_REJECTED"} 1`);

    // Removed: required again, so not ready again.
    await rm(bundle, { recursive: true });
    await h.watcher!.scan();
    expect(await getJson("/readyz")).toMatchObject({ status: 503, body: { status: "missing-plugins", missing: [{ plugin: "header-canary", refused: null }] } });
  }, 30_000);

  it("does not wait for a plugin the route lists in optional_plugins, nor when the route names no plugins", async () => {
    const empty = join(root, "empty");
    await start({ plugins: ["header-canary"], optional_plugins: ["header-canary"] }, empty);
    expect(await getJson("/readyz")).toEqual({ status: 200, body: { status: "ready", missing: [], refused: [] } });
    await stop();
    await start({}, empty);
    expect((await getJson("/readyz")).status).toBe(200);
  });

  it("refuses optional_plugins naming a plugin the route does not run, saying where", () => {
    expect(() => config({ plugins: ["a"], optional_plugins: ["b"] })).toThrow(ConfigError);
    try {
      config({ plugins: ["a"], optional_plugins: ["b"] });
    } catch (e) {
      expect(String((e as Error).message)).toMatch(/optional_plugins\[0\].*plugin "b" is not in this route's "plugins"/);
    }
  });
});

async function stop(): Promise<void> {
  if (!host) return;
  for (const s of host.servers) s.server.closeAllConnections();
  await host.stop();
  host = undefined;
}

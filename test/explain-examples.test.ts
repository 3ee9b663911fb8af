// `explain` for each example plugin on the demo config (examples/configs/demo.json) with the bundles `make
// build` puts in build/plugins: the function, the CLI (`node bin/switchyard.js explain …`, which runs dist/)
// and POST /explain on a started host.

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterManager } from "../host/cluster/cluster-manager.js";
import { parseConfig, type Config } from "../host/config/index.js";
import { explain, formatExplanation, type Explanation } from "../host/explain/explain.js";
import { ConfigPusher } from "../host/plugin/push.js";
import { PluginRegistry } from "../host/plugin/registry.js";
import { BundleWatcher } from "../host/plugin/watcher.js";
import { SwitchyardHost, toClusterInput } from "../host/server/host.js";

const REPO = new URL("../", import.meta.url).pathname;
const run = promisify(execFile);
const ALL = ["127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083", "127.0.0.1:18084"];

let config: Config;
let demoText: string;
const clusters = new ClusterManager();
const registry = new PluginRegistry();
const pusher = new ConfigPusher(registry, null);

function ex(headers: Record<string, string>, path = "/"): Explanation {
  return explain({ config, clusters, registry }, { headers, path });
}

beforeAll(async () => {
  demoText = await readFile(join(REPO, "examples/configs/demo.json"), "utf8");
  config = parseConfig(demoText, join(REPO, "examples/configs/demo.json")).config;
  clusters.replaceAll(config.clusters.map((c) => toClusterInput(c)));
  const scan = await new BundleWatcher(join(REPO, "build/plugins"), registry, { log: pino({ level: "silent" }) }).scan();
  expect(scan.refused).toEqual([]);
});

describe("explain on the demo config, per example plugin", () => {
  it("runs every loaded plugin in order and shows what each kept", () => {
    const e = ex({});
    expect(e.route).toBe("servers[0].routers[0].virtual_hosts[0].routers[0]");
    expect(e.cluster).toBe("demo");
    expect(e.plugins.map((p) => [p.plugin, p.order, p.in, p.out, p.outcome])).toEqual([
      ["drain", 1, 4, 4, "accept"],
      ["deny", 5, 4, 4, "accept"],
      ["header-canary", 10, 4, 3, "accept"], // the canary is only for canary traffic
      ["zone-affinity", 20, 3, 3, "accept"], // no x-zone: no decision
      ["version-split", 30, 3, 2, "accept"], // no x-user: the "from" version
    ]);
    expect(e.plugins.at(-1)!.metadata).toEqual({ version: "v1" });
    expect(e.decision).toBe("route to the kept hosts");
    expect(e.candidates).toEqual(["127.0.0.1:18081", "127.0.0.1:18082"]);
    expect(ALL).toContain(e.pick);
  });

  it("deny → reject: the chain stops at the plugin, with its status and body", () => {
    const e = ex({ "x-client": "bad-bot" });
    expect(e.plugins.map((p) => [p.plugin, p.outcome])).toEqual([["drain", "accept"], ["deny", "reject"]]);
    expect(e.decision).toBe("reject 403");
    expect(e.verdict).toEqual({ kind: "reject", status: 403, body: "denied", plugin: "deny" });
    expect(e.pick).toBeUndefined();
    expect(formatExplanation(e)).toMatch(/plugin {4}deny {13}order {3}5 {6}4 → 0 {5}reject\ndecision  reject 403/);
  });

  it("drain → wait, after a push turns draining on; back to routing after another", async () => {
    await pusher.push("drain", '{"draining":true,"waitMs":250}');
    try {
      const e = ex({});
      expect(e.plugins.map((p) => [p.plugin, p.in, p.out, p.outcome])).toEqual([["drain", 4, 0, "wait"]]);
      expect(e.decision).toBe("wait 250 ms, then decide again");
      expect(e.verdict).toEqual({ kind: "wait", waitMs: 250, plugin: "drain" });
    } finally {
      await pusher.push("drain", '{"draining":false}');
    }
    expect(ex({}).decision).toBe("route to the kept hosts");
  });

  it("header-canary → the canary host kept, with its metadata, through the rest of the chain to the pick", () => {
    const e = ex({ "x-canary": "1" });
    const canary = e.plugins.find((p) => p.plugin === "header-canary")!;
    expect(canary).toMatchObject({ in: 4, out: 1, outcome: "accept", kept: ["127.0.0.1:18084"], metadata: { version: "canary" } });
    // version-split (order 30) is offered only the canary, which carries neither of its versions: it leaves it.
    expect(e.plugins.at(-1)).toMatchObject({ plugin: "version-split", in: 1, out: 1, kept: ["127.0.0.1:18084"] });
    expect(e.fallback).toBeUndefined();
    expect(e.decision).toBe("route to the kept hosts");
    expect(e.candidates).toEqual(["127.0.0.1:18084"]);
    expect(e.pick).toBe("127.0.0.1:18084");
    const text = formatExplanation(e);
    expect(text).toContain("kept 127.0.0.1:18084");
    expect(text).toContain("pick      127.0.0.1:18084");
  });

  it("zone-affinity → the request's zone, when it has enough healthy hosts", () => {
    const e = ex({ "x-zone": "a" });
    expect(e.plugins.find((p) => p.plugin === "zone-affinity")).toMatchObject({ in: 3, out: 2, kept: ["127.0.0.1:18081", "127.0.0.1:18083"] });
    expect(e.candidates).toEqual(["127.0.0.1:18081"]); // and version-split keeps v1
    expect(e.pick).toBe("127.0.0.1:18081");
    // Zone b has one non-canary host, fewer than minHealthy 2: every zone is kept.
    expect(ex({ "x-zone": "b" }).plugins.find((p) => p.plugin === "zone-affinity")).toMatchObject({ in: 3, out: 3 });
  });

  it("version-split → a sticky side per user", () => {
    const sides = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const e = ex({ "x-user": `user-${i}` });
      const v = e.plugins.at(-1)!.metadata!.version!;
      sides.add(v);
      expect(ex({ "x-user": `user-${i}` }).plugins.at(-1)!.metadata).toEqual({ version: v });
      expect(e.candidates).toEqual(v === "v2" ? ["127.0.0.1:18083"] : ["127.0.0.1:18081", "127.0.0.1:18082"]);
    }
    expect([...sides].sort()).toEqual(["v1", "v2"]); // 20 % of 40 users: both sides seen
  });

  it("refuses a malformed sample request with a message naming the field", () => {
    expect(() => explain({ config, clusters, registry }, { path: "api" })).toThrow(/path: expected a path starting with "\/"/);
    expect(() => explain({ config, clusters, registry }, { listener: "nope" })).toThrow(/listener nope is not in the config/);
  });
});

describe("switchyard explain (CLI)", () => {
  it("prints the chain for a sample request", async () => {
    const { stdout } = await run("node", ["bin/switchyard.js", "explain", "--config", "examples/configs/demo.json", "--plugins", "build/plugins", "--header", "x-canary: 1"], { cwd: REPO });
    const lines = stdout.split("\n");
    expect(lines[0]).toBe("GET /  (Host: localhost, listener demo)");
    expect(lines).toContain("cluster   demo (4 hosts)");
    expect(stdout).toMatch(/plugin {4}header-canary {4}order {2}10 {6}4 → 1 {5}accept {2}metadata \{"version":"canary"\}\n {10}kept 127\.0\.0\.1:18084/);
    expect(lines).toContain("decision  route to the kept hosts");
    expect(lines).toContain("pick      127.0.0.1:18084");
  });

  it("prints JSON with --json, and fails with a usage message without --config", async () => {
    const { stdout } = await run("node", ["bin/switchyard.js", "explain", "--config", "examples/configs/demo.json", "--plugins", "build/plugins", "--header", "x-client: bad-bot", "--path", "/api", "--json"], { cwd: REPO });
    const e = JSON.parse(stdout) as Explanation;
    expect(e.request.path).toBe("/api");
    expect(e.verdict).toEqual({ kind: "reject", status: 403, body: "denied", plugin: "deny" });
    const bad = await run("node", ["bin/switchyard.js", "explain"], { cwd: REPO }).then(() => null, (err: { code: number; stderr: string }) => err);
    expect(bad?.code).toBe(1);
    expect(bad?.stderr).toMatch(/E_USAGE: explain needs --config <file>/);
  });
});

describe("POST /explain", () => {
  let host: SwitchyardHost;
  let root: string;
  let admin: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "switchyard-explain-"));
    // The demo config on port 0; no upstream is called by explain.
    const text = demoText.replace('"127.0.0.1:8080"', '"127.0.0.1:0"').replace('"127.0.0.1:9901"', '"127.0.0.1:0"');
    const cfg = parseConfig(text, join(REPO, "examples/configs/demo.json")).config;
    host = new SwitchyardHost({ config: cfg, pluginsDir: join(REPO, "build/plugins"), stateDir: join(root, "state"), logger: pino({ level: "silent" }), watch: false, env: { SWITCHYARD_ADMIN_TOKEN: "explain-token" } });
    await host.start();
    admin = `http://127.0.0.1:${host.adminAddress!.port}`;
  });

  afterAll(async () => {
    await host?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const post = async (body: string) => {
    const r = await fetch(`${admin}/explain`, { method: "POST", body, headers: { "content-type": "application/json", authorization: "Bearer explain-token" } });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it("answers the explanation as JSON (with the token: it runs plugin code)", async () => {
    const r = await post(JSON.stringify({ path: "/", headers: { "x-canary": "1" } }));
    expect(r.status).toBe(200);
    const e = r.body as unknown as Explanation;
    expect(e.plugins.find((p) => p.plugin === "header-canary")).toMatchObject({ out: 1, kept: ["127.0.0.1:18084"] });
    expect(e.pick).toBe("127.0.0.1:18084");
    const d = await post(JSON.stringify({ headers: [["x-client", "bad-bot"]] }));
    expect(d.body).toMatchObject({ decision: "reject 403", verdict: { kind: "reject", status: 403, plugin: "deny" } });
  });

  it("answers 400 with a code for a body that is not JSON or not a valid sample", async () => {
    const notJson = await post("{nope");
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ error: { code: "E_ADMIN_BAD_BODY" } });
    const badPath = await post(JSON.stringify({ path: "x" }));
    expect(badPath.status).toBe(400);
    expect(badPath.body).toMatchObject({ error: { code: "E_EXPLAIN" } });
  });
});

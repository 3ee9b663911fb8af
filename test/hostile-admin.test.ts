// The admin API attacked (issue 18 items 2 and 9): explain without the token, from a browser page of another
// site, with a head the listener would refuse, or nested deeper than a parser's stack; wrong methods and HEAD.
// A real host on the demo config (build/plugins) and raw sockets to its admin port, 127.0.0.1 only.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { rawExchange } from "./helpers/raw.js";

const REPO = new URL("../", import.meta.url).pathname;
const TOKEN = "hostile-token";
let host: SwitchyardHost;
let root: string;
let admin: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-hostile-admin-"));
  const text = (await readFile(join(REPO, "examples/configs/demo.json"), "utf8")).replace('"127.0.0.1:8080"', '"127.0.0.1:0"').replace('"127.0.0.1:9901"', '"127.0.0.1:0"');
  const { config } = parseConfig(text, join(REPO, "examples/configs/demo.json"));
  host = new SwitchyardHost({ config, pluginsDir: join(REPO, "build/plugins"), stateDir: join(root, "state"), logger: pino({ level: "silent" }), watch: false, env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
  await host.start();
  admin = `http://127.0.0.1:${host.adminAddress!.port}`;
});

afterAll(async () => {
  await host?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

async function call(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<{ status: number; headers: Headers; text: string }> {
  const r = await fetch(`${admin}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

const plugins = async () => (JSON.parse((await call("GET", "/plugins", undefined, {})).text) as { plugins: { name: string; calls: number; failures: number; state: string }[] }).plugins.map((p) => [p.name, p.calls, p.failures, p.state]);

describe("POST /explain, attacked", () => {
  it("without the token: 401; text/plain (a simple-CORS POST): 415; from another site's page: 403", async () => {
    const body = JSON.stringify({ path: "/" });
    expect(JSON.parse((await call("POST", "/explain", body, { "content-type": "application/json" })).text)).toMatchObject({ error: { code: "E_ADMIN_UNAUTHORIZED" } });
    const plain = await call("POST", "/explain", body, { authorization: auth.authorization, "content-type": "text/plain" });
    expect([plain.status, JSON.parse(plain.text).error.code]).toEqual([415, "E_ADMIN_CONTENT_TYPE"]);
    const cross = await call("POST", "/explain", body, { ...auth, origin: "http://evil.example" });
    expect([cross.status, JSON.parse(cross.text).error.code]).toEqual([403, "E_ADMIN_CROSS_SITE"]);
    const fetchSite = await call("POST", "/explain", body, { ...auth, "sec-fetch-site": "cross-site" });
    expect(fetchSite.status).toBe(403);
    expect((await call("POST", "/explain", body, auth)).status).toBe(200);
  });

  it("a PUT from another site's page is refused too, and the config does not change", async () => {
    const before = (await call("GET", "/plugins/header-canary/config", undefined, {})).text;
    const r = await call("PUT", "/plugins/header-canary/config", '{"header":"x-evil","values":["1"]}', { authorization: auth.authorization, origin: "null" });
    expect([r.status, JSON.parse(r.text).error.code]).toEqual([403, "E_ADMIN_CROSS_SITE"]);
    expect((await call("GET", "/plugins/header-canary/config", undefined, {})).text).toBe(before);
  });

  it("a 1 MB x-user header: 431 as on the listener, and three of them move no plugin's counters or health", async () => {
    const before = await plugins();
    for (let i = 0; i < 3; i++) {
      const r = await call("POST", "/explain", JSON.stringify({ path: "/", headers: { "x-user": "u".repeat(1_000_000) } }), auth);
      expect([r.status, JSON.parse(r.text).error.code]).toEqual([431, "E_HEADERS_TOO_LARGE"]);
    }
    const many = await call("POST", "/explain", JSON.stringify({ headers: Array.from({ length: 300 }, (_, i) => [`x-h${i}`, "v"]) }), auth);
    expect([many.status, JSON.parse(many.text).error.code]).toEqual([431, "E_TOO_MANY_HEADERS"]);
    const twoHosts = await call("POST", "/explain", JSON.stringify({ headers: [["host", "a"], ["host", "b"]] }), auth);
    expect([twoHosts.status, JSON.parse(twoHosts.text).error.code]).toEqual([400, "E_DUPLICATE_HOST"]);
    const crlf = await call("POST", "/explain", JSON.stringify({ headers: { "x-a": "1\r\nx-b: 2" } }), auth);
    expect([crlf.status, JSON.parse(crlf.text).error.code]).toEqual([400, "E_BAD_REQUEST_HEAD"]);
    // Explains that run every plugin (version-split reads x-user) count nothing.
    for (let i = 0; i < 3; i++) expect((await call("POST", "/explain", JSON.stringify({ headers: { "x-user": `u${i}` } }), auth)).status).toBe(200);
    expect(await plugins()).toEqual(before);
  });

  it("a body nested 100,000 deep: 400 with a clear message, not a stack overflow", async () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const r = await call("POST", "/explain", JSON.stringify({ headers: "" }).replace('""', deep), auth);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error).toEqual({ code: "E_ADMIN_BAD_BODY", message: "the sample request nests arrays and objects deeper than 64 levels" });
    const hosts = await call("PUT", "/clusters/demo/hosts", deep, auth);
    expect(JSON.parse(hosts.text).error).toMatchObject({ code: "E_ADMIN_BAD_BODY", message: expect.stringContaining("deeper than 64") });
  });
});

describe("admin methods", () => {
  it("DELETE /healthz is 405 with Allow; POST /plugins/x/config 405 with Allow GET, HEAD, PUT", async () => {
    const del = await rawExchange(admin, "DELETE /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    expect(del).toMatch(/^HTTP\/1\.1 405 /);
    expect(del.toLowerCase()).toContain("allow: get, head\r\n");
    expect(del).toContain('"E_ADMIN_METHOD_NOT_ALLOWED"');
    const post = await call("POST", "/plugins/deny/config", "x", { authorization: auth.authorization });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD, PUT"]);
    expect((await call("GET", "/nope", undefined, {})).status).toBe(404);
  });

  it("HEAD /healthz, /plugins and /metrics answer as GET, without a body", async () => {
    for (const path of ["/healthz", "/plugins", "/metrics", "/plugins/deny/config"]) {
      const raw = await rawExchange(admin, `HEAD ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      expect(raw, path).toMatch(/^HTTP\/1\.1 200 /);
      expect(raw.endsWith("\r\n\r\n"), path).toBe(true);
      expect(Number(/content-length: (\d+)/i.exec(raw)?.[1]), path).toBeGreaterThan(0);
    }
  });
});

describe("PUT /clusters/svc:80/hosts (a name the config accepts)", () => {
  it("answers 200, persists under an encoded file name, and a restart loads it", async () => {
    const { mosnConfig, anyHost } = await import("./helpers/switchyard.js");
    const text = JSON.stringify(mosnConfig({ clusters: [{ name: "svc:80", hosts: ["127.0.0.1:1"] }], virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "svc:80" } }])] })).replace('"cluster_manager"', '"admin":{"address":"127.0.0.1:0"},"cluster_manager"');
    const { config } = parseConfig(text, "svc.json");
    const stateDir = join(root, "svc-state");
    const start = async () => {
      const h = new SwitchyardHost({ config, stateDir, logger: pino({ level: "silent" }), watch: false, env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
      await h.start();
      return h;
    };
    let h = await start();
    try {
      const url = `http://127.0.0.1:${h.adminAddress!.port}/clusters/svc:80/hosts`;
      const r = await fetch(url, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify([{ address: "127.0.0.1:2" }]) });
      expect([r.status, await r.json()]).toEqual([200, { cluster: "svc:80", version: 1, hosts: 1, appliedWorkers: 1 }]);
      expect(await (await import("node:fs/promises")).readdir(join(stateDir, "clusters"))).toEqual(["svc%3A80.json"]);
      // Metadata numbers and booleans, as a config file may give them (MOSN's metadata), plain or filter_metadata.
      const typed = await fetch(url, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify([{ address: "127.0.0.1:2", metadata: { port: 80, canary: true } }, { address: "127.0.0.1:3", metadata: { filter_metadata: { "mosn.lb": { weight_class: 2 } } } }]) });
      expect(typed.status).toBe(200);
      expect(h.clusterAdmin().list().find((c) => c.name === "svc:80")!.hosts.map((x) => (x as { tags: object }).tags)).toEqual([{ port: "80", canary: "true" }, { weight_class: "2" }]);
      const nested = await fetch(url, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify([{ address: "127.0.0.1:2", metadata: { x: { y: 1 } } }]) });
      expect(nested.status).toBe(400);
      expect(h.clusterAdmin().list().find((c) => c.name === "svc:80")!.hostsVersion).toBe(2);
      await h.stop();
      h = await start();
      expect(h.clusterAdmin().list().find((c) => c.name === "svc:80")).toMatchObject({ hostsVersion: 2, hosts: [{ address: "127.0.0.1:2", tags: { port: "80", canary: "true" } }, { address: "127.0.0.1:3" }] });
    } finally {
      await h.stop();
    }
  });
});

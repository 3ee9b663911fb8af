// The admin API over a real socket: a push without a token, with a wrong token, or with a malformed body
// changes nothing (config version, config text, routing and the state folder checked before and after);
// If-Match; a config the plugin rejects; host list updates with validation, persistence and a restart.

import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import type { Config } from "../host/config/types.js";
import { run as pushCli } from "../host/cli/push.js";
import { SwitchyardHost } from "../host/server/host.js";
import { canaryVariant, hostConfig, memoryLog } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const TOKEN = "s3cret-token";
let root: string;
let config: Config;
let host: SwitchyardHost;
let upstreams: Upstream[];
const logs: Record<string, unknown>[] = [];

async function startHost(): Promise<void> {
  host = new SwitchyardHost({
    config,
    pluginsDir: join(root, "plugins"),
    stateDir: join(root, "state"),
    logger: pino({ level: "info" }, memoryLog(logs)),
    env: { SWITCHYARD_ADMIN_TOKEN: TOKEN },
    watch: false,
  });
  await host.start();
}

async function stopHost(): Promise<void> {
  for (const s of host.servers) s.server.closeAllConnections();
  await host.stop();
}

const proxy = () => `http://127.0.0.1:${host.servers[0]!.address!.port}`;
const admin = () => `http://127.0.0.1:${host.adminAddress!.port}`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-admin-"));
  upstreams = [await startUpstream("canary0"), await startUpstream("stable0"), await startUpstream("stable1")];
  await canaryVariant(join(root, "plugins", "header-canary"), { version: "1.0.0", tagValue: "canary" });
  const cfg = hostConfig({ hosts: upstreams.map((u) => ({ address: u.address, tags: { version: u.name.replace(/\d+$/, "") } })) });
  config = parseConfig(JSON.stringify(cfg), "admin.json").config;
  await startHost();
});

afterAll(async () => {
  if (host) await stopHost();
  await Promise.all((upstreams ?? []).map((u) => u.close()));
  await rm(root, { recursive: true, force: true });
});

/** Upstreams that answered `n` requests with these headers, sorted and deduplicated. */
async function routing(headers: Record<string, string>, n = 6): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const res = await request(`${proxy()}/r`, { headers });
    const text = await res.body.text();
    seen.add(res.statusCode === 200 ? (JSON.parse(text) as { upstream: string }).upstream : `status ${res.statusCode}`);
  }
  return [...seen].sort();
}

/** What a push may change: the config version and text, the routing, the state folder. */
async function observable(): Promise<unknown> {
  const res = await request(`${admin()}/plugins/header-canary/config`);
  const text = await res.body.text();
  const state = await readdir(join(root, "state", "plugins")).catch(() => []);
  const files = await Promise.all(state.map(async (f) => [f, await readFile(join(root, "state", "plugins", f), "utf8")]));
  return { version: res.headers["x-config-version"], text, canary: await routing({ "x-canary": "1" }), others: await routing({}), files };
}

/** A raw PUT with node:http, so that a body over the limit can be sent and the early answer still read. */
function rawPut(path: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${admin()}${path}`, { method: "PUT", agent: false, headers: { "content-length": String(body.length), ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    // The server answers 413 and closes before reading a body over the limit: the rest may not be written.
    req.on("error", (err) => reject(err));
    req.end(body);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
const canaryTo = (tagValue: string) => JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue });

describe("admin API: pushes", () => {
  it("changes nothing for a push without a token, with a wrong token, or with a malformed body", async () => {
    const before = await observable();
    expect(before).toMatchObject({ version: "0", canary: ["canary0"], others: ["stable0", "stable1"], files: [] });
    const good = Buffer.from(canaryTo("stable"));
    const attempts: { what: string; headers: Record<string, string>; body: Buffer; status: number; code: string }[] = [
      { what: "no token", headers: {}, body: good, status: 401, code: "E_ADMIN_UNAUTHORIZED" },
      { what: "wrong token", headers: { authorization: "Bearer s3cret-tokeN" }, body: good, status: 401, code: "E_ADMIN_UNAUTHORIZED" },
      { what: "longer wrong token", headers: { authorization: `Bearer ${TOKEN}x` }, body: good, status: 401, code: "E_ADMIN_UNAUTHORIZED" },
      { what: "not a bearer token", headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}` }, body: good, status: 401, code: "E_ADMIN_UNAUTHORIZED" },
      { what: "body not UTF-8", headers: auth, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), status: 400, code: "E_ADMIN_BAD_BODY" },
      { what: "body over the size limit", headers: auth, body: Buffer.alloc(1024 * 1024 + 1, 0x20), status: 413, code: "E_ADMIN_BAD_BODY" },
      { what: "If-Match not a version", headers: { ...auth, "if-match": "latest" }, body: good, status: 400, code: "E_ADMIN_BAD_IF_MATCH" },
      { what: "a NUL byte", headers: auth, body: Buffer.from(`${canaryTo("stable")}\u0000`), status: 400, code: "E_PUSH_NOT_TEXT" },
      { what: "not JSON (the plugin decides)", headers: auth, body: Buffer.from("{not json"), status: 400, code: "E_PLUGIN_CONFIG_REJECTED" },
    ];
    for (const a of attempts) {
      const r = await rawPut("/plugins/header-canary/config", a.body, a.headers);
      expect({ what: a.what, status: r.status, code: (r.json.error as { code: string }).code }).toEqual({ what: a.what, status: a.status, code: a.code });
      expect(await observable(), a.what).toEqual(before);
    }
    expect(logs.filter((l) => l.msg === "admin request refused: unauthorized")).toHaveLength(4);
  });

  it("answers 409 on an If-Match mismatch, 400 with the plugin's message on a rejected config, and applies a good push", async () => {
    const before = await observable();
    let r = await rawPut("/plugins/header-canary/config", Buffer.from(canaryTo("stable")), { ...auth, "if-match": '"7"' });
    expect(r.status).toBe(409);
    expect(r.json.error).toMatchObject({ code: "E_PUSH_VERSION_MISMATCH" });
    expect(await observable()).toEqual(before);

    // The plugin's own message: header-canary requires "header".
    r = await rawPut("/plugins/header-canary/config", Buffer.from(JSON.stringify({ values: ["1"] })), auth);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: "E_PLUGIN_CONFIG_REJECTED", plugin: "header-canary" });
    expect(String((r.json.error as { reason: string }).reason)).toMatch(/header/);
    expect(await observable()).toEqual(before);

    r = await rawPut("/plugins/nope/config", Buffer.from("{}"), auth);
    expect(r.status).toBe(404);

    // Accepted with the right If-Match: version 1, canary traffic moves to the stable hosts, persisted.
    r = await rawPut("/plugins/header-canary/config", Buffer.from(canaryTo("stable")), { ...auth, "if-match": '"0"' });
    expect(r).toEqual({ status: 200, json: { plugin: "header-canary", configVersion: 1, appliedWorkers: 1 } });
    const after = (await observable()) as { version: string; canary: string[]; others: string[]; files: string[][] };
    expect(after).toMatchObject({ version: "1", text: canaryTo("stable"), canary: ["stable0", "stable1"], others: ["canary0"] });
    expect(JSON.parse(after.files[0]![1]!)).toMatchObject({ name: "header-canary", version: 1, config: canaryTo("stable") });

    // The same If-Match again is now stale.
    r = await rawPut("/plugins/header-canary/config", Buffer.from(canaryTo("canary")), { ...auth, "if-match": "0" });
    expect(r.status).toBe(409);
    expect((await observable() as { version: string }).version).toBe("1");
  });

  it("switchyard push sends a file with the token and reports the version", async () => {
    const file = join(root, "cfg.json");
    await writeFile(file, canaryTo("canary"));
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
    let code: number;
    try {
      code = await pushCli(["header-canary", file, "--admin", admin(), "--token", TOKEN]);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    expect(out.join("")).toContain("accepted: header-canary is at config version 2");
    expect(await routing({ "x-canary": "1" })).toEqual(["canary0"]);
    const errs: string[] = [];
    const ewrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (errs.push(String(s)), true)) as typeof process.stderr.write;
    try {
      code = await pushCli(["header-canary", file, "--admin", admin(), "--token", "wrong"]);
    } finally {
      process.stderr.write = ewrite;
    }
    expect(code).toBe(1);
    expect(errs.join("")).toMatch(/refused \(HTTP 401\): E_ADMIN_UNAUTHORIZED/);
  });
});

describe("admin API: cluster hosts", () => {
  const clusters = async () => ((await (await request(`${admin()}/clusters`)).body.json()) as { clusters: { name: string; hostsVersion: number; hosts: { address: string }[] }[] }).clusters;

  it("validates a host list in full and changes nothing when it is refused", async () => {
    const before = await clusters();
    const routed = await routing({}, 6);
    const a = upstreams[1]!.address;
    const bad: { what: string; body: string; headers?: Record<string, string>; status: number; path?: string }[] = [
      { what: "no token", body: JSON.stringify([{ address: a }]), headers: {}, status: 401 },
      { what: "not JSON", body: "[{", status: 400 },
      { what: "not an array", body: JSON.stringify({ address: a }), status: 400 },
      { what: "a bad address", body: JSON.stringify([{ address: a }, { address: "nowhere" }]), status: 400 },
      { what: "a duplicate", body: JSON.stringify([{ address: a }, { address: a }]), status: 400 },
      { what: "a bad weight", body: JSON.stringify([{ address: a, weight: -3 }]), status: 400 },
      { what: "an unknown cluster", body: JSON.stringify([{ address: a }]), status: 404, path: "/clusters/zzz/hosts" },
    ];
    for (const b of bad) {
      const r = await rawPut(b.path ?? "/clusters/c/hosts", Buffer.from(b.body), b.headers ?? auth);
      expect({ what: b.what, status: r.status }).toEqual({ what: b.what, status: b.status });
      expect(String((r.json.error as { message: string }).message).length, b.what).toBeGreaterThan(10);
      expect(await clusters(), b.what).toEqual(before);
    }
    expect(await routing({}, 6)).toEqual(routed);
    expect(await readdir(join(root, "state", "clusters")).catch(() => [])).toEqual([]);
  });

  it("swaps in a valid host list, persists it, and a restart keeps it and the last pushed config", async () => {
    const [canary0, stable0] = [upstreams[0]!, upstreams[1]!];
    const body = JSON.stringify([
      { address: stable0.address, metadata: { version: "stable" } },
      { address: canary0.address, metadata: { filter_metadata: { "mosn.lb": { version: "canary" } } } },
    ]);
    const r = await rawPut("/clusters/c/hosts", Buffer.from(body), auth);
    expect(r).toEqual({ status: 200, json: { cluster: "c", version: 1, hosts: 2, appliedWorkers: 1 } });
    expect(await routing({}, 6)).toEqual(["stable0"]); // stable1 is gone; canary0 is the canary
    const saved = JSON.parse(await readFile(join(root, "state", "clusters", "c.json"), "utf8")) as { version: number; hosts: { address: string }[] };
    expect(saved.version).toBe(1);
    expect(saved.hosts.map((h) => h.address)).toEqual([stable0.address, canary0.address]);

    await stopHost();
    await startHost();
    const c = (await clusters()).find((x) => x.name === "c")!;
    expect(c.hostsVersion).toBe(1);
    expect(c.hosts.map((h) => h.address)).toEqual([stable0.address, canary0.address]);
    expect(await routing({}, 6)).toEqual(["stable0"]);
    const cfg = await request(`${admin()}/plugins/header-canary/config`);
    expect(cfg.headers["x-config-version"]).toBe("2");
    expect(await cfg.body.text()).toBe(canaryTo("canary"));
    expect(await routing({ "x-canary": "1" })).toEqual(["canary0"]);

    // The next update continues the version sequence.
    const r2 = await rawPut("/clusters/c/hosts", Buffer.from(JSON.stringify([{ address: stable0.address, metadata: { version: "stable" } }])), auth);
    expect(r2.json).toMatchObject({ version: 2, hosts: 1 });
  });

  it("reads are open, unknown paths are 404, bad percent-encoding is 400", async () => {
    expect((await request(`${admin()}/healthz`)).statusCode).toBe(200);
    expect((await request(`${admin()}/readyz`)).statusCode).toBe(200);
    const plugins = (await (await request(`${admin()}/plugins`)).body.json()) as { plugins: { name: string; configVersion: number; state: string }[] };
    expect(plugins.plugins).toMatchObject([{ name: "header-canary", configVersion: 2, state: "ready" }]);
    expect((await request(`${admin()}/nope`)).statusCode).toBe(404);
    expect((await request(`${admin()}/plugins/%E0%A4%A/config`)).statusCode).toBe(400);
  });
});

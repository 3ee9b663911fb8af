// A push that changes the header a plugin reads takes effect with the push (sdk/ABI.md §4.4), in a real
// `switchyard run` process: header-canary's plugin.json declares ["x-canary"]; after pushing
// {"header":"x-beta"} the host writes x-beta into each request and the canary follows it, while x-canary
// no longer selects the canary. Before headers were decided at configure, the plugin read null for x-beta.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canaryVariant, get, hostConfig, put, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const TOKEN = "headers-token";
const auth = { authorization: `Bearer ${TOKEN}` };
let root: string;
let upstreams: Upstream[];
let p: HostProcess;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-headers-"));
  upstreams = [await startUpstream("canary0"), await startUpstream("stable0")];
  await canaryVariant(join(root, "plugins", "header-canary"), { version: "1.0.0", tagValue: "canary" });
  const configFile = join(root, "switchyard.json");
  const cfg = hostConfig({
    hosts: upstreams.map((u) => ({ address: u.address, tags: { version: u.name.replace(/\d+$/, "") } })),
    pluginsDir: join(root, "plugins"),
    stateDir: join(root, "state"),
  });
  await writeFile(configFile, JSON.stringify(cfg));
  p = await spawnHost({ configFile, env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
}, 90_000);

afterAll(async () => {
  if (p) {
    p.kill("SIGTERM");
    await p.exited;
  }
  await Promise.all((upstreams ?? []).map((u) => u.close()));
  await rm(root, { recursive: true, force: true });
});

async function upstreamFor(headers: Record<string, string>): Promise<string> {
  const r = await get(`${p.listenerUrl}/h`, headers);
  expect(r.status).toBe(200);
  return (JSON.parse(r.body) as { upstream: string }).upstream;
}

async function canaryHeaders(): Promise<unknown> {
  const r = await get(`${p.adminUrl}/plugins`, auth);
  return (JSON.parse(r.body) as { plugins: { name: string; headers: unknown }[] }).plugins.find((x) => x.name === "header-canary")?.headers;
}

describe("headers follow the config", () => {
  it("routes by plugin.json's header before any push", async () => {
    expect(await canaryHeaders()).toEqual(["x-canary"]);
    expect(await upstreamFor({ "x-canary": "1" })).toBe("canary0");
    expect(await upstreamFor({ "x-beta": "1" })).toBe("stable0");
  });

  it("a push naming x-beta makes the canary follow x-beta at once", async () => {
    const r = await put(`${p.adminUrl}/plugins/header-canary/config`, JSON.stringify({ header: "x-beta", values: ["1"], tag: "version", tagValue: "canary" }), auth);
    expect(r).toMatchObject({ status: 200, json: { plugin: "header-canary", configVersion: 1 } });
    // No waiting: the admin answers once the new chain serves.
    expect(await canaryHeaders()).toEqual(["x-beta"]);
    expect(await upstreamFor({ "x-beta": "1" })).toBe("canary0");
    expect(await upstreamFor({ "X-Beta": "1" })).toBe("canary0");
    expect(await upstreamFor({ "x-canary": "1" })).toBe("stable0");
    expect(await upstreamFor({})).toBe("stable0");
  });

  it("a push back to x-canary is honoured the same way", async () => {
    const r = await put(`${p.adminUrl}/plugins/header-canary/config`, JSON.stringify({ header: "x-canary", values: ["1"] }), auth);
    expect(r.status).toBe(200);
    expect(await canaryHeaders()).toEqual(["x-canary"]);
    expect(await upstreamFor({ "x-canary": "1" })).toBe("canary0");
    expect(await upstreamFor({ "x-beta": "1" })).toBe("stable0");
  });
});

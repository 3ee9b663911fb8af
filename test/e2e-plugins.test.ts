// End to end through a whole host with the example plugins compiled to wasm: the canary header moving
// traffic, zone affinity keeping a zone, a sticky version split per user, a Reject verdict answered to the
// client, plugin metadata narrowing the hosts, and the access log line that records all of it.

import { afterEach, describe, expect, it } from "vitest";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig, type RunningSwitchyard, startSwitchyard, upstreamOf } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;

afterEach(async () => {
  await sy?.close();
  await ups?.close();
  sy = undefined;
  ups = undefined;
});

/** One cluster "c" of the upstreams with these tags, one route running `plugins`. */
async function start(tags: Record<string, string>[], plugins: string[], routeExtra: object = {}): Promise<RunningSwitchyard> {
  ups = await startUpstreams(tags.length);
  const hosts = ups.addresses.map((address, i) => ({ address, tags: tags[i]! }));
  return startSwitchyard({
    plugins,
    config: mosnConfig({
      clusters: [{ name: "c", hosts }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", switchyard: { plugins: plugins.map(nameOf) }, ...routeExtra } }])],
    }),
  });
}

function nameOf(bundle: string): string {
  return bundle.startsWith("test/fixtures/") ? bundle.split("/")[2]! : bundle;
}

/** Which upstreams answered `n` requests sent with `headers`. */
async function answeredBy(url: string, n: number, headers: Record<string, string> = {}): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await send(url, { path: "/", headers });
    expect(r.status, r.body.toString()).toBe(200);
    seen.add(upstreamOf(r.body).upstream);
  }
  return seen;
}

/** FNV-1a 32 of the UTF-8 bytes, as the SDK's fnv1a32 (version-split hashes users with it). */
function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

describe("header-canary", () => {
  it("the canary header moves traffic to the canary host; other requests never reach it", async () => {
    sy = await start([{ version: "v1" }, { version: "v1" }, { version: "canary" }], ["header-canary"]);
    expect(await answeredBy(sy.url, 6)).toEqual(new Set(["up0", "up1"]));
    expect(await answeredBy(sy.url, 4, { "x-canary": "1" })).toEqual(new Set(["up2"]));
    expect(await answeredBy(sy.url, 2, { "x-canary": "no" })).toEqual(new Set(["up0", "up1"]));
  });

  it("the access log line carries route, cluster, upstream, status and the chain summary", async () => {
    sy = await start([{ version: "v1" }, { version: "canary" }], ["header-canary"]);
    await send(sy.url, { path: "/a", headers: { "x-canary": "true" } });
    await send(sy.url, { path: "/b" });
    const [canary, plain] = sy.accessLog();
    expect(canary).toMatchObject({
      listener: "main",
      route: "servers[0].routers[0].virtual_hosts[0].routers[0]",
      cluster: "c",
      upstream: ups!.addresses[1],
      status: 200,
      method: "GET",
      path: "/a",
      attempts: 1,
      chain: "header-canary:2>1",
    });
    expect(plain).toMatchObject({ cluster: "c", upstream: ups!.addresses[0], status: 200, chain: "header-canary:2>1" });
    expect(sy.events.map((e) => e.status)).toEqual([200, 200]);
  });
});

describe("zone-affinity", () => {
  it("keeps the request's zone while it has enough healthy hosts; an unknown zone spills over to all", async () => {
    sy = await start([{ zone: "a" }, { zone: "a" }, { zone: "b" }, { zone: "b" }], ["zone-affinity"]);
    expect(await answeredBy(sy.url, 4, { "x-zone": "a" })).toEqual(new Set(["up0", "up1"]));
    expect(await answeredBy(sy.url, 4, { "x-zone": "b" })).toEqual(new Set(["up2", "up3"]));
    expect(await answeredBy(sy.url, 4, { "x-zone": "c" })).toEqual(new Set(["up0", "up1", "up2", "up3"]));
    expect(sy.accessLog().at(0)).toMatchObject({ chain: "zone-affinity:4>2" });
    expect(sy.accessLog().at(-1)).toMatchObject({ chain: "zone-affinity:4>4" });
  });
});

describe("a large cluster under the default sandbox", () => {
  it("5,000 hosts: the chain of three keeps the two live zone-a hosts, no plugin call fails", async () => {
    ups = await startUpstreams(2);
    // 4,998 hosts nothing listens on, in zone b: any of them picked would be a failed request.
    const dead = Array.from({ length: 4_998 }, (_, i) => ({ address: `127.1.${i >> 8}.${i & 255}:9`, tags: { zone: "b", version: "v1" } }));
    const live = ups.addresses.map((address) => ({ address, tags: { zone: "a", version: "v1" } }));
    const chain = ["header-canary", "zone-affinity", "version-split"];
    sy = await startSwitchyard({
      plugins: chain,
      config: mosnConfig({
        clusters: [{ name: "c", hosts: [...live, ...dead] }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", switchyard: { plugins: chain } } }])],
      }),
    });
    expect(await answeredBy(sy.url, 6, { "x-zone": "a", "x-canary": "0", "x-user": "user-12345" })).toEqual(new Set(["up0", "up1"]));
    expect(sy.logs.filter((l) => l.event === "failed")).toEqual([]);
    expect(sy.accessLog().at(-1)).toMatchObject({ chain: "header-canary:5000>5000 zone-affinity:5000>2 version-split:2>2" });
  });
});

describe("version-split", () => {
  it("sends each user to one side, always the same (20% to v2 by the FNV-1a hash of x-user)", async () => {
    sy = await start([{ version: "v1" }, { version: "v2" }], ["version-split"]);
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const toV2 = users.filter((u) => fnv1a32(u) % 100 < 20);
    const toV1 = users.filter((u) => fnv1a32(u) % 100 >= 20);
    expect(toV2.length).toBeGreaterThan(0);
    for (const u of [...toV2.slice(0, 3), ...toV1.slice(0, 3)]) {
      const expected = toV2.includes(u) ? "up1" : "up0";
      expect(await answeredBy(sy.url, 3, { "x-user": u }), u).toEqual(new Set([expected]));
    }
    // No user header: the "from" side.
    expect(await answeredBy(sy.url, 2)).toEqual(new Set(["up0"]));
  });
});

describe("Reject verdict", () => {
  it("deny answers the plugin's status and body; the upstream never sees the request", async () => {
    sy = await start([{}], ["deny"]);
    const r = await send(sy.url, { method: "POST", path: "/x", headers: { "x-client": "bad-bot" }, body: "payload" });
    expect(r.status).toBe(403);
    expect(r.body.toString()).toBe("denied");
    expect(ups!.list[0]!.requests).toHaveLength(0);
    const ok = await send(sy.url, { path: "/x", headers: { "x-client": "good" } });
    expect(ok.status).toBe(200);
    expect(sy.accessLog()[0]).toMatchObject({ status: 403, plugin: "deny", cluster: "c", upstream: null, chain: "deny:1>0:reject" });
  });
});

describe("metadata", () => {
  it("a plugin's metadata narrows the kept hosts to those carrying every pair", async () => {
    // The echo fixture keeps every offered host and sets metadata from x-echo-meta.
    sy = await start([{ env: "prod" }, { env: "dev" }, {}, { env: "prod", zone: "a" }], ["test/fixtures/echo/bundle"]);
    const headers = { "x-echo-verdict": "accept", "x-echo-meta": "env=prod" };
    expect(await answeredBy(sy.url, 6, headers)).toEqual(new Set(["up0", "up3"]));
    expect(sy.accessLog().at(-1)).toMatchObject({ chain: "echo:4>2" });
  });

  it("the route's metadata_match narrows as well, after the chain", async () => {
    sy = await start([{ zone: "a", env: "prod" }, { zone: "a" }, { zone: "b", env: "prod" }], ["zone-affinity"], {
      metadata_match: { filter_metadata: { "mosn.lb": { env: "prod" } } },
    });
    // zone-affinity's minHealthy is 2: zone a keeps up0 and up1; metadata_match then drops up1.
    expect(await answeredBy(sy.url, 4, { "x-zone": "a" })).toEqual(new Set(["up0"]));
    expect(await answeredBy(sy.url, 4)).toEqual(new Set(["up0", "up2"]));
  });
});

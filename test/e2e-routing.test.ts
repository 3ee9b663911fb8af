// End to end through a whole host: MOSN-shaped configs (servers[].routers + a proxy filter, and an inline
// connection_manager), virtual hosts by Host, every match kind, direct responses, weighted clusters with an
// injected random source, and the rewrites and added headers as the upstream sees them.

import { afterEach, describe, expect, it } from "vitest";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig, type RunningSwitchyard, sequence, startSwitchyard, upstreamOf } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;

afterEach(async () => {
  await sy?.close();
  await ups?.close();
  sy = undefined;
  ups = undefined;
});

describe("MOSN config shapes", () => {
  it("servers[].routers with a proxy filter proxies to the cluster, round robin over its hosts", async () => {
    ups = await startUpstreams(2);
    sy = await startSwitchyard({
      config: mosnConfig({
        clusters: [{ name: "serverCluster", hosts: ups.addresses }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "serverCluster", timeout: "5s" } }])],
      }),
    });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await send(sy.url, { method: "POST", path: `/item/${i}?q=1`, body: "hello" });
      expect(r.status).toBe(200);
      const u = upstreamOf(r.body);
      expect(u).toMatchObject({ method: "POST", url: `/item/${i}?q=1` });
      seen.push(u.upstream);
    }
    expect(seen).toEqual(["up0", "up1", "up0", "up1"]);
    expect(ups.list[0]!.requests[0]!.bodyBytes).toBe(5);
  });

  it("an inline connection_manager filter defines the listener's virtual hosts", async () => {
    ups = await startUpstreams(1);
    const config = {
      servers: [{
        listeners: [{
          name: "clientListener",
          address: "127.0.0.1:0",
          filter_chains: [{ filters: [{
            type: "connection_manager",
            config: {
              router_config_name: "client_router",
              virtual_hosts: [{
                name: "clientHost",
                domains: ["*"],
                routers: [
                  { match: { path: "/healthz" }, direct_response: { status: 200, body: "ok" } },
                  { match: { prefix: "/" }, route: { cluster_name: "clientCluster" } },
                ],
              }],
            },
          }] }],
        }],
      }],
      cluster_manager: { clusters: [{ Name: "clientCluster", type: "SIMPLE", lb_type: "LB_RANDOM", hosts: [{ address: ups.addresses[0] }] }] },
    };
    sy = await startSwitchyard({ config });
    const health = await send(sy.url, { path: "/healthz" });
    expect(health.status).toBe(200);
    expect(health.body.toString()).toBe("ok");
    expect(ups.list[0]!.requests).toHaveLength(0);
    const r = await send(sy.url, { path: "/x" });
    expect(r.status).toBe(200);
    expect(upstreamOf(r.body).upstream).toBe("up0");
  });
});

describe("route matching", () => {
  async function matchHost(): Promise<RunningSwitchyard> {
    ups = await startUpstreams(6);
    const a = ups.addresses;
    const clusters = a.map((addr, i) => ({ name: `c${i}`, hosts: [addr] }));
    return startSwitchyard({
      config: mosnConfig({
        clusters,
        virtualHosts: [
          { name: "api", domains: ["api.example.com"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "c0" } }] },
          { name: "wild", domains: ["*.example.com"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "c1" } }] },
          anyHost([
            { match: { path: "/exact" }, route: { cluster_name: "c2" } },
            { match: { regex: "/users/[0-9]+" }, route: { cluster_name: "c3" } },
            { match: { prefix: "/h", headers: [{ name: "x-env", value: "pre.*", regex: true }] }, route: { cluster_name: "c4" } },
            { match: { prefix: "/h" }, route: { cluster_name: "c5" } },
            { match: { path: "/direct" }, direct_response: { status: 418, body: "teapot" } },
          ]),
        ],
      }),
    });
  }

  it("chooses the virtual host by Host: exact, then wildcard suffix, then *", async () => {
    sy = await matchHost();
    const by = async (host: string, path = "/h") => upstreamOf((await send(sy!.url, { path, headers: { host } })).body).upstream;
    expect(await by("api.example.com")).toBe("up0");
    expect(await by("API.example.com:8080")).toBe("up0");
    expect(await by("www.example.com")).toBe("up1");
    expect(await by("other.test")).toBe("up5");
  });

  it("an absolute-form request target routes by its authority and path", async () => {
    sy = await matchHost();
    const r = await send(sy.url, { path: "http://api.example.com/any?x=1", headers: { host: "other.test" } });
    expect(r.status).toBe(200);
    expect(upstreamOf(r.body)).toMatchObject({ upstream: "up0", url: "/any?x=1" });
    const exact = await send(sy.url, { path: "http://other.test/exact" });
    expect(upstreamOf(exact.body).upstream).toBe("up2");
  });

  it("path, regex, prefix with a header regex, and the first matching entry wins", async () => {
    sy = await matchHost();
    const to = async (path: string, headers: Record<string, string> = {}) => {
      const r = await send(sy!.url, { path, headers });
      return r.status === 200 ? upstreamOf(r.body).upstream : r.status;
    };
    expect(await to("/exact")).toBe("up2");
    expect(await to("/exact?x=1")).toBe("up2"); // the query takes no part in path matches
    expect(await to("/exact/more")).toBe(404);
    expect(await to("/users/42")).toBe("up3");
    expect(await to("/users/42x")).toBe(404); // a regex matches the whole path
    expect(await to("/hello", { "x-env": "pre-release" })).toBe("up4");
    expect(await to("/hello", { "x-env": "prod" })).toBe("up5");
    expect(await to("/hello")).toBe("up5");
  });

  it("direct_response answers without any upstream; no route answers 404 with a reason", async () => {
    sy = await matchHost();
    const d = await send(sy.url, { path: "/direct" });
    expect(d.status).toBe(418);
    expect(d.body.toString()).toBe("teapot");
    const none = await send(sy.url, { path: "/nowhere" });
    expect(none.status).toBe(404);
    expect(none.body.toString()).toMatch(/no route/);
    expect(ups!.list.every((u) => u.requests.length === 0)).toBe(true);
    const line = sy.accessLog().find((l) => l.path === "/nowhere");
    expect(line).toMatchObject({ status: 404, reason: "E_NO_ROUTE", route: null, upstream: null });
  });
});

describe("weighted clusters", () => {
  it("splits by weight with the injected random source", async () => {
    ups = await startUpstreams(2);
    // 0.0–0.75 of 100 → the first cluster (weight 75), 0.75–1.0 → the second (weight 25).
    const random = sequence([0.1, 0.74, 0.75, 0.99, 0.5, 0.8]);
    sy = await startSwitchyard({
      random,
      config: mosnConfig({
        clusters: [{ name: "stable", hosts: [ups.addresses[0]!] }, { name: "canary", hosts: [ups.addresses[1]!] }],
        virtualHosts: [anyHost([{
          match: { prefix: "/" },
          route: { weighted_clusters: [{ cluster: { name: "stable", weight: 75 } }, { cluster: { name: "canary", weight: 25 } }] },
        }])],
      }),
    });
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push(upstreamOf((await send(sy.url, { path: "/" })).body).upstream);
    expect(got).toEqual(["up0", "up0", "up1", "up1", "up0", "up1"]);
    expect(sy.accessLog().map((l) => l.cluster)).toEqual(["stable", "stable", "canary", "canary", "stable", "canary"]);
  });
});

describe("rewrites and added headers", () => {
  it("prefix_rewrite, host_rewrite and request_headers_to_add reach the upstream", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({
      config: mosnConfig({
        clusters: [{ name: "c", hosts: ups.addresses }],
        virtualHosts: [anyHost([{
          match: { prefix: "/old/" },
          route: {
            cluster_name: "c",
            prefix_rewrite: "/new/",
            host_rewrite: "backend.internal",
            request_headers_to_add: [
              { header: { key: "x-added", value: "one" }, append: true },
              { header: { key: "x-replaced", value: "proxy" }, append: false },
            ],
          },
        }])],
      }),
    });
    const r = await send(sy.url, { path: "/old/thing?a=b", headers: { host: "front.example", "x-added": "client", "x-replaced": "client" } });
    expect(r.status).toBe(200);
    const seen = ups.list[0]!.requests[0]!;
    expect(seen.url).toBe("/new/thing?a=b");
    expect(seen.headers.host).toBe("backend.internal");
    expect(seen.headers["x-added"]).toBe("client, one");
    expect(seen.headers["x-replaced"]).toBe("proxy");
  });

  it("prefix_rewrite on a route that matches any path prepends, as MOSN does; a regex route keeps its path", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({
      config: mosnConfig({
        clusters: [{ name: "c", hosts: ups.addresses }],
        virtualHosts: [anyHost([
          { match: { headers: [{ name: "x-v", value: "2" }] }, route: { cluster_name: "c", prefix_rewrite: "/v2" } },
          { match: { regex: "/r/.*" }, route: { cluster_name: "c", prefix_rewrite: "/ignored" } },
          { match: { prefix: "" }, route: { cluster_name: "c", prefix_rewrite: "/any" } },
        ])],
      }),
    });
    const urlSeen = async (path: string, headers: Record<string, string> = {}) => upstreamOf((await send(sy!.url, { path, headers })).body).url;
    expect(await urlSeen("/a/b?q=1", { "x-v": "2" })).toBe("/v2/a/b?q=1");
    expect(await urlSeen("/r/x")).toBe("/r/x");
    expect(await urlSeen("/p")).toBe("/any/p");
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../host/config/errors.js";
import { parseConfig } from "../host/config/parse.js";
import type { RouteAction, RouterConfig } from "../host/config/types.js";
import { hostOf } from "../host/router/domains.js";
import { compileAllRoutes, compileRoutes } from "../host/router/table.js";
import type { RouteTable } from "../host/router/types.js";

/** Router config from virtual hosts written the MOSN way; every route names cluster "c". */
function table(virtualHosts: unknown[]): RouteTable {
  const text = JSON.stringify({
    servers: [
      {
        routers: [{ router_config_name: "r", virtual_hosts: virtualHosts }],
        listeners: [{ address: "127.0.0.1:0", filter_chains: [{ filters: [{ type: "proxy", config: { router_config_name: "r" } }] }] }],
      },
    ],
    cluster_manager: { clusters: [{ name: "c", hosts: [{ address: "127.0.0.1:1" }] }, { name: "d", hosts: [{ address: "127.0.0.1:2" }] }] },
  });
  return compileRoutes(parseConfig(text, "t.json").config.routerConfigs[0]!);
}
const to = (tag: string, extra: Record<string, unknown> = {}) => ({ route: { cluster_name: "c", request_headers_to_add: [{ header: { key: "x-tag", value: tag } }] }, ...extra });
const noHeaders = () => undefined;
const headersOf = (h: Record<string, string>) => (name: string) => h[name];

/** The tag of the route that matched, the virtual host name for a match with no tag, or null. */
function which(t: RouteTable, authority: string, path: string, headers: Record<string, string> = {}): string | null {
  const m = t.match(authority, path, headersOf(headers));
  if (m === null) return null;
  if (m.action.kind === "direct") return `direct:${m.action.status}`;
  return (m.action as RouteAction).requestHeadersToAdd[0]?.value ?? m.virtualHost;
}

describe("virtual host selection", () => {
  const t = table([
    { name: "exact", domains: ["api.example.com", "example.com"], routers: [{ match: { prefix: "/" }, ...to("exact") }] },
    { name: "sub", domains: ["*.example.com"], routers: [{ match: { prefix: "/" }, ...to("sub") }] },
    { name: "deeper", domains: ["*.eu.example.com"], routers: [{ match: { prefix: "/" }, ...to("deeper") }] },
    { name: "dash", domains: ["*-web.example.com"], routers: [{ match: { prefix: "/" }, ...to("dash") }] },
    { name: "any", domains: ["*"], routers: [{ match: { prefix: "/" }, ...to("any") }] },
  ]);

  it.each([
    ["api.example.com", "exact"],
    ["API.Example.COM", "exact"],
    ["api.example.com:8080", "exact"],
    ["example.com", "exact"],
    ["www.example.com", "sub"],
    ["a.b.example.com", "sub"],
    ["x.eu.example.com", "deeper"], // the longest suffix wins over *.example.com
    ["eu.example.com", "sub"], // "*.eu.example.com" needs at least one character before ".eu"
    ["shop-web.example.com", "dash"],
    [".example.com", "any"], // the wildcard stands for at least one character
    ["example.org", "any"],
    ["", "any"],
    ["[::1]:8080", "any"],
    ["127.0.0.1:80", "any"],
  ])("%s → %s", (authority, expected) => {
    expect(which(t, authority, "/")).toBe(expected);
  });

  it("without a * virtual host an unknown domain matches nothing", () => {
    const t2 = table([{ name: "only", domains: ["a.com", "[::1]"], routers: [{ match: { prefix: "/" }, ...to("a") }] }]);
    expect(which(t2, "b.com", "/")).toBeNull();
    expect(which(t2, "a.com:443", "/")).toBe("a");
    expect(which(t2, "[::1]:8080", "/")).toBe("a");
  });

  it.each([
    ["example.com", "example.com"], ["Example.com:80", "example.com"], ["[::1]:8080", "[::1]"], ["[::1]", "[::1]"], ["host", "host"], ["", ""],
  ])("hostOf(%j) is %j", (authority, host) => {
    expect(hostOf(authority)).toBe(host);
  });
});

describe("router entry selection", () => {
  const t = table([
    {
      name: "vh",
      domains: ["*"],
      routers: [
        { match: { path: "/healthz" }, direct_response: { status: 200, body: "ok" } },
        { match: { regex: "/users/[0-9]+" }, ...to("user-by-id") },
        { match: { prefix: "/api", headers: [{ name: "X-Canary", value: "true" }] }, ...to("api-canary") },
        { match: { prefix: "/api", headers: [{ name: "x-user", value: "(alice|bob)-[a-z]+", regex: true }, { name: "x-env", value: "prod" }] }, ...to("api-named") },
        { match: { prefix: "/api" }, ...to("api") },
        { match: { headers: [{ name: "service", value: "com\\.alipay\\..*", regex: true }] }, ...to("rpc-service") },
        { match: { prefix: "/" }, ...to("default") },
      ],
    },
  ]);

  it.each<[string, Record<string, string>, string]>([
    ["/healthz", {}, "direct:200"],
    ["/healthz?verbose=1", {}, "direct:200"], // the query is not part of the path
    ["/healthz/", {}, "default"], // path is exact
    ["/users/42", {}, "user-by-id"],
    ["/users/42?x=1", {}, "user-by-id"],
    ["/users/42/posts", {}, "default"], // a regex must match the whole path
    ["/users/abc", {}, "default"],
    ["/xusers/42", {}, "default"],
    ["/api/v1", { "x-canary": "true" }, "api-canary"],
    ["/api/v1", { "x-canary": "TRUE" }, "api"], // header values compare exactly
    ["/api/v1", { "x-user": "alice-smith", "x-env": "prod" }, "api-named"],
    ["/api/v1", { "x-user": "alice-smith" }, "api"], // every header matcher must hold
    ["/api/v1", { "x-user": "alice-smith-2", "x-env": "prod" }, "api"], // a header regex matches the whole value
    ["/api/v1", { "x-user": "carol-smith", "x-env": "prod" }, "api"],
    ["/apiary", {}, "api"], // prefix is a string prefix, as in Envoy and MOSN
    ["/API", {}, "default"], // and case-sensitive
    ["/anything", { service: "com.alipay.test.TestService:1.0" }, "rpc-service"], // MOSN's header-only routes
    ["/anything", { service: "org.other" }, "default"],
    ["/", {}, "default"],
  ])("%s %j → %s", (path, headers, expected) => {
    expect(which(t, "example.com", path, headers)).toBe(expected);
  });

  it("the first matching entry wins, even when a later one is more specific", () => {
    const t2 = table([{ name: "vh", domains: ["*"], routers: [{ match: { prefix: "/" }, ...to("first") }, { match: { path: "/exact" }, ...to("second") }] }]);
    expect(which(t2, "h", "/exact")).toBe("first");
  });

  it("no entry matching is null", () => {
    const t2 = table([{ name: "vh", domains: ["*"], routers: [{ match: { prefix: "/only" }, ...to("only") }] }]);
    expect(which(t2, "h", "/other")).toBeNull();
    expect(which(t2, "h", "/only/x")).toBe("only");
  });

  it("returns the same frozen match object each time: no allocation per match", () => {
    const a = t.match("example.com", "/api/x", noHeaders);
    const b = t.match("other.example", "/api/y?z", noHeaders);
    expect(a).not.toBeNull();
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a!.route.where).toBe("servers[0].routers[0].virtual_hosts[0].routers[4]");
    expect(a!.virtualHost).toBe("vh");
  });

  it("stays fast on the hot path (bounded loop: 200k matches, at most 2 seconds)", () => {
    const headers = headersOf({ "x-user": "bob-jones", "x-env": "prod" });
    const started = performance.now();
    let hits = 0;
    for (let i = 0; i < 200_000 && performance.now() - started < 2000; i++) {
      if (t.match("www.example.com:8080", i % 2 ? "/api/v1/items?id=3" : "/users/77", headers) !== null) hits++;
    }
    expect(hits).toBe(200_000);
  });
});

describe("the MOSN examples", () => {
  it("routes the servers[].routers example by prefix and regex header", () => {
    const { config } = parseConfig(readFileSync("examples/configs/mosn-http-proxy.json", "utf8"), "mosn-http-proxy.json");
    const tables = compileAllRoutes(config);
    const t = tables.get(config.listeners[0]!.routerConfigName)!;
    const pre = t.match("localhost:2046", "/api/orders", headersOf({ "x-env": "pre-1" }))!;
    expect((pre.action as RouteAction).clusters[0]!.metadataMatch).toEqual({ stage: "pre-release" });
    const plain = t.match("localhost:2046", "/api/orders", noHeaders)!;
    expect((plain.action as RouteAction).timeoutMs).toBe(10_000);
  });

  it("routes the connection_manager example: /healthz answered directly, the rest to weighted clusters", () => {
    const { config } = parseConfig(readFileSync("examples/configs/mosn-connection-manager.json", "utf8"), "cm.json");
    const t = compileAllRoutes(config).get("client_router")!;
    expect(t.match("x", "/healthz", noHeaders)!.action).toEqual({ kind: "direct", status: 200, body: "ok" });
    expect((t.match("x", "/app", noHeaders)!.action as RouteAction).clusters.map((c) => c.name)).toEqual(["clientCluster", "canaryCluster"]);
  });
});

describe("compileRoutes on a hand-built router config", () => {
  it("refuses a bad regex with a ConfigError naming its path", () => {
    const rc: RouterConfig = {
      name: "r",
      where: "servers[0].routers[0]",
      virtualHosts: [
        {
          name: "vh",
          where: "servers[0].routers[0].virtual_hosts[0]",
          domains: ["*"],
          routes: [{ where: "servers[0].routers[0].virtual_hosts[0].routers[0]", match: { path: null, prefix: null, regex: null, headers: [{ name: "x", value: "(", regex: true }] }, action: { kind: "direct", status: 404, body: "" } }],
        },
      ],
    };
    let caught: unknown;
    try {
      compileRoutes(rc, "hand.json");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe("E_CONFIG_INVALID");
    expect((caught as ConfigError).problems[0]!.path).toBe("servers[0].routers[0].virtual_hosts[0].routers[0].match.headers[0].value");
  });
});

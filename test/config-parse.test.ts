import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/parse.js";
import { parseDurationMs } from "../host/config/duration.js";
import { findCluster, findRouterConfig } from "../host/config/lookup.js";
import type { Config, RouteAction } from "../host/config/types.js";

const EXAMPLES = resolve("examples/configs");
const example = (name: string) => parseConfig(readFileSync(join(EXAMPLES, name), "utf8"), join(EXAMPLES, name));

/** A minimal valid document with one listener, one route and one cluster; `patch` edits a fresh copy. */
function doc(patch: (d: any) => void = () => {}): string {
  const d: any = {
    servers: [
      {
        routers: [
          {
            router_config_name: "r",
            virtual_hosts: [{ name: "vh", domains: ["*"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "c" } }] }],
          },
        ],
        listeners: [
          { name: "l", address: "127.0.0.1:0", filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }] }] },
        ],
      },
    ],
    cluster_manager: { clusters: [{ name: "c", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: "127.0.0.1:1" }] }] },
  };
  patch(d);
  return JSON.stringify(d);
}
const parse = (patch?: (d: any) => void) => parseConfig(doc(patch), "test.json");
const firstAction = (config: Config) => config.routerConfigs[0]!.virtualHosts[0]!.routes[0]!.action as RouteAction;

describe("parseConfig: the MOSN examples", () => {
  it("loads a servers[].routers + proxy filter config with its MOSN metadata shapes", () => {
    const { config, warnings } = example("mosn-http-proxy.json");
    expect(config.listeners).toEqual([
      expect.objectContaining({ name: "serverListener", address: "127.0.0.1:2046", host: "127.0.0.1", port: 2046, downstreamProtocol: "http1", routerConfigName: "server_router" }),
    ]);
    const cluster = findCluster(config, "serverCluster")!;
    expect(cluster.lbType).toBe("random");
    expect(cluster.discovery).toBe("static");
    expect(cluster.fallback).toBe("default");
    expect(cluster.defaultSubset).toEqual({ stage: "stable" });
    expect(cluster.hosts.map((h) => h.tags)).toEqual([{ stage: "stable" }, { stage: "pre-release" }]);
    expect(cluster.hosts[0]!.weight).toBe(1);
    const rc = findRouterConfig(config, "server_router")!;
    const api = rc.virtualHosts[0]!.routes[0]!;
    expect(api.match).toEqual({ prefix: "/api", path: null, regex: null, headers: [{ name: "x-env", value: "pre.*", regex: true }] });
    expect(api.action).toMatchObject({
      kind: "route",
      clusters: [{ name: "serverCluster", weight: 1, metadataMatch: { stage: "pre-release" }, fallback: "default" }],
      timeoutMs: 5000,
      retry: { numRetries: 2, perTryTimeoutMs: 1000, retryOnStatuses: [502, 503, 504], retryOnGrpcStatuses: [14] },
    });
    expect(api.where).toBe("servers[0].routers[0].virtual_hosts[0].routers[0]");
    expect(config.admin).toEqual({ address: "127.0.0.1:34901", host: "127.0.0.1", port: 34901 });
    expect(warnings.map((w) => w.path).sort()).toEqual([
      "cluster_manager.clusters[0].conn_buffer_limit_bytes",
      "cluster_manager.clusters[0].max_request_per_conn",
      "servers[0].default_log_path",
      "servers[0].listeners[0].bind_port",
    ]);
  });

  it("loads an inline connection_manager config, `Name` clusters, weighted clusters and a direct response", () => {
    const { config, warnings } = example("mosn-connection-manager.json");
    expect(warnings).toEqual([]);
    expect(config.listeners[0]!.routerConfigName).toBe("client_router");
    expect(config.clusters.map((c) => [c.name, c.lbType])).toEqual([["clientCluster", "random"], ["canaryCluster", "round_robin"]]);
    const routes = config.routerConfigs[0]!.virtualHosts[0]!.routes;
    expect(routes[0]!.action).toEqual({ kind: "direct", status: 200, body: "ok" });
    const weighted = routes[1]!.action as RouteAction;
    expect(weighted.clusters.map((c) => [c.name, c.weight])).toEqual([["clientCluster", 90], ["canaryCluster", 10]]);
    expect(weighted.totalWeight).toBe(100);
    expect(config.admin.address).toBe("127.0.0.1:9901"); // the default
  });

  it("loads the demo config: 4 tagged hosts, fallback any, every plugin", () => {
    const { config, warnings } = example("demo.json");
    expect(warnings).toEqual([]);
    expect(config.listeners[0]).toMatchObject({ address: "127.0.0.1:8080", port: 8080 });
    expect(config.admin.port).toBe(9901);
    const demo = findCluster(config, "demo")!;
    expect(demo.hosts.map((h) => `${h.address} ${h.tags["version"]} ${h.tags["zone"]}`)).toEqual([
      "127.0.0.1:18081 v1 a", "127.0.0.1:18082 v1 b", "127.0.0.1:18083 v2 a", "127.0.0.1:18084 canary b",
    ]);
    const action = firstAction(config);
    expect(action.plugins).toBeNull();
    expect(action.clusters[0]!.fallback).toBe("any");
    expect(action.waitMaxCount).toBe(3);
    expect(config.switchyard.pluginsDir).toBe(resolve("build/plugins"));
  });
});

describe("parseConfig: normalization", () => {
  it.each([
    ["10s", 10_000], ["500ms", 500], ["1m", 60_000], ["1m30s", 90_000], ["1.5h", 5_400_000], ["250us", 0.25], [750, 750], ["0", 0],
  ])("duration %j is %d ms", (input, ms) => {
    expect(parseDurationMs(input)).toBe(ms);
  });

  it.each(["10", "10 s", "s", "-1s", "1d", ""])("duration %j is refused with a message", (input) => {
    expect(parseDurationMs(input)).toMatch(/expected a duration/);
  });

  it.each([
    ["LB_ROUNDROBIN", "round_robin"], ["LB_RANDOM", "random"], ["LB_WEIGHTED_ROUNDROBIN", "weighted_round_robin"],
    ["LB_LEAST_REQUEST", "least_request"], ["LB_MAGLEV", "maglev"], ["LB_RINGHASH", "ring_hash"],
    ["round_robin", "round_robin"], ["random", "random"], ["least_request", "least_request"],
    ["weighted_round_robin", "weighted_round_robin"], ["ring_hash", "ring_hash"], ["maglev", "maglev"],
  ])("lb_type %s is %s", (lb, expected) => {
    const { config } = parse((d) => {
      d.cluster_manager.clusters[0].lb_type = lb;
      d.cluster_manager.clusters[0].hash_header = "X-User";
    });
    expect(config.clusters[0]!.lbType).toBe(expected);
    expect(config.clusters[0]!.hashHeader).toBe("x-user");
  });

  it("substitutes LB_LEAST_CONNECTION with a warning", () => {
    const { config, warnings } = parse((d) => (d.cluster_manager.clusters[0].lb_type = "LB_LEAST_CONNECTION"));
    expect(config.clusters[0]!.lbType).toBe("least_request");
    expect(warnings).toEqual([{ path: "cluster_manager.clusters[0].lb_type", message: expect.stringContaining("least_request is used instead") }]);
  });

  it.each([
    [0, "none"], [1, "any"], [2, "default"], ["NoFallback", "none"], ["AnyEndpoint", "any"], ["DefaultSubset", "default"], ["ANY_ENDPOINT", "any"],
  ])("fall_back_policy %j is %s, and is the route's default fallback", (policy, expected) => {
    const { config } = parse((d) => (d.cluster_manager.clusters[0].lb_subset_config = { fall_back_policy: policy, default_subset: { v: "1" } }));
    expect(config.clusters[0]!.fallback).toBe(expected);
    expect(firstAction(config).clusters[0]!.fallback).toBe(expected);
  });

  it("lets the route's switchyard.fallback override the cluster's policy", () => {
    const { config } = parse((d) => {
      d.cluster_manager.clusters[0].lb_subset_config = { fall_back_policy: 2 };
      d.servers[0].routers[0].virtual_hosts[0].routers[0].route.switchyard = { fallback: "none", plugins: ["canary", "zone"], wait: { max_count: 0 }, fail_fast: true };
    });
    expect(firstAction(config)).toMatchObject({ clusters: [{ fallback: "none" }], plugins: ["canary", "zone"], waitMaxCount: 0, failFast: true });
  });

  it("reads host metadata as a plain map (numbers and booleans as strings) or as filter_metadata", () => {
    const { config } = parse((d) => {
      d.cluster_manager.clusters[0].hosts = [
        { address: "127.0.10.1:80", weight: 3, hostname: "a", metadata: { zone: "a", canary: true, shard: 2 } },
        { address: "127.0.10.2:80", metadata: { filter_metadata: { "mosn.lb": { zone: "b" } } } },
        { address: "[::1]:80" },
      ];
    });
    expect(config.clusters[0]!.hosts).toEqual([
      { address: "127.0.10.1:80", hostname: "a", weight: 3, tags: { zone: "a", canary: "true", shard: "2" } },
      { address: "127.0.10.2:80", weight: 1, tags: { zone: "b" } },
      { address: "[::1]:80", weight: 1, tags: {} },
    ]);
  });

  it("defaults: route timeout 60s, no retries, connect timeout 3s, admin 127.0.0.1:9901, log level info", () => {
    const { config } = parse();
    expect(firstAction(config)).toMatchObject({ timeoutMs: 60_000, retry: { numRetries: 0, perTryTimeoutMs: null, retryOnStatuses: [] }, plugins: null, waitMaxCount: 3, failFast: false });
    expect(config.clusters[0]!.connectTimeoutMs).toBe(3000);
    expect(config.admin).toEqual({ address: "127.0.0.1:9901", host: "127.0.0.1", port: 9901 });
    expect(config.switchyard).toEqual({ pluginsDir: null, stateDir: null, adminTokenFile: null, logLevel: "info", signatures: { trustedKeys: [], required: false }, accessLog: null, upstreamClient: "llhttp" });
  });

  it("reads the retry policy, rewrites and headers to add", () => {
    const { config } = parse((d) => {
      Object.assign(d.servers[0].routers[0].virtual_hosts[0].routers[0].route, {
        timeout: 1500,
        retry_policy: { retry_on: true, retry_timeout: "200ms", num_retries: 3, retry_on_statuses: [503], retry_on_grpc_statuses: ["resource-exhausted", 14, "cancelled", "unavailable"] },
        prefix_rewrite: "/v2/",
        host_rewrite: "backend.internal",
        request_headers_to_add: [{ header: { key: "X-From", value: "switchyard" }, append: false }, { header: { key: "x-b", value: "1" } }],
      });
    });
    expect(firstAction(config)).toMatchObject({
      timeoutMs: 1500,
      retry: { numRetries: 3, perTryTimeoutMs: 200, retryOnStatuses: [503], retryOnGrpcStatuses: [8, 14, 1] },
      prefixRewrite: "/v2/",
      hostRewrite: "backend.internal",
      requestHeadersToAdd: [{ name: "x-from", value: "switchyard", append: false }, { name: "x-b", value: "1", append: true }],
    });
  });

  it("a retry policy with retry_on false retries nothing", () => {
    const { config } = parse((d) => (d.servers[0].routers[0].virtual_hosts[0].routers[0].route.retry_policy = { retry_on: false, num_retries: 3 }));
    expect(firstAction(config).retry.numRetries).toBe(0);
  });

  it("resolves switchyard paths against the config's folder and reads the log level", () => {
    const { config } = parseConfig(doc((d) => (d.switchyard = { plugins_dir: "plugins", state_dir: "/var/lib/sy", admin_token_file: "token", log_level: "debug", signatures: { trusted_keys: ["keys/team.pub"], required: true }, access_log: "logs/access.log" })), "/etc/sy/config.json");
    expect(config.switchyard).toEqual({ pluginsDir: "/etc/sy/plugins", stateDir: "/var/lib/sy", adminTokenFile: "/etc/sy/token", logLevel: "debug", signatures: { trustedKeys: ["/etc/sy/keys/team.pub"], required: true }, accessLog: "/etc/sy/logs/access.log", upstreamClient: "llhttp" });
  });

  it("switchyard.upstream_client: llhttp by default, undici when asked, anything else an error naming the field", () => {
    expect(parseConfig(doc((d) => (d.switchyard = { upstream_client: "llhttp" })), "/etc/sy/config.json").config.switchyard.upstreamClient).toBe("llhttp");
    expect(parseConfig(doc((d) => (d.switchyard = { upstream_client: "undici" })), "/etc/sy/config.json").config.switchyard.upstreamClient).toBe("undici");
    expect(() => parseConfig(doc((d) => (d.switchyard = { upstream_client: "curl" })), "/etc/sy/config.json")).toThrow(/switchyard\.upstream_client: expected "undici" or "llhttp", got "curl"/);
  });

  it("switchyard.signatures: required without trusted keys, and a key that is not a path, are errors naming the field", () => {
    expect(() => parseConfig(doc((d) => (d.switchyard = { signatures: { required: true } })), "/etc/sy/config.json")).toThrow(/switchyard\.signatures\.required: true needs trusted_keys/);
    expect(() => parseConfig(doc((d) => (d.switchyard = { signatures: { trusted_keys: [""] } })), "/etc/sy/config.json")).toThrow(/switchyard\.signatures\.trusted_keys\[0\]: expected a non-empty path/);
  });

  it("lowercases domains, drops their port with a warning, and accepts downstream_protocol Auto", () => {
    const { config, warnings } = parse((d) => {
      d.servers[0].routers[0].virtual_hosts[0].domains = ["Example.COM:8080", "*.Example.org"];
      d.servers[0].listeners[0].filter_chains[0].filters[0].config.downstream_protocol = "Auto";
    });
    expect(config.routerConfigs[0]!.virtualHosts[0]!.domains).toEqual(["example.com", "*.example.org"]);
    expect(config.listeners[0]!.downstreamProtocol).toBe("auto");
    expect(warnings).toEqual([{ path: "servers[0].routers[0].virtual_hosts[0].domains[0]", message: expect.stringContaining("port is ignored") }]);
  });

  it("returns a deep-frozen config", () => {
    const { config, warnings } = parse();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.clusters[0]!.hosts[0]!.tags)).toBe(true);
    expect(Object.isFrozen(firstAction(config).clusters)).toBe(true);
    expect(Object.isFrozen(warnings)).toBe(true);
    expect(() => {
      (config.listeners as any[]).push({});
    }).toThrow(TypeError);
  });
});

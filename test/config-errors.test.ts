import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CONFIG_ERROR_CODES, ConfigError } from "../host/config/errors.js";
import { loadConfigFile } from "../host/config/load.js";
import { parseConfig } from "../host/config/parse.js";
import type { ConfigProblem } from "../host/config/types.js";

function doc(patch: (d: any) => void = () => {}): string {
  const d: any = {
    servers: [
      {
        routers: [{ router_config_name: "r", virtual_hosts: [{ name: "vh", domains: ["*"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "c" } }] }] }],
        listeners: [{ name: "l", address: "127.0.0.1:8080", filter_chains: [{ filters: [{ type: "proxy", config: { router_config_name: "r" } }] }] }],
      },
    ],
    cluster_manager: { clusters: [{ name: "c", hosts: [{ address: "127.0.0.1:1" }] }] },
  };
  patch(d);
  return JSON.stringify(d, null, 2);
}
const vh = (d: any) => d.servers[0].routers[0].virtual_hosts[0];
const route = (d: any) => vh(d).routers[0];

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, "bad.json");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe("E_CONFIG_INVALID");
    expect((err as ConfigError).message).toContain("bad.json");
    return [...(err as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig: every problem, with its path", () => {
  it.each<[string, (d: any) => void, string, RegExp]>([
    ["listener address", (d) => (d.servers[0].listeners[0].address = "localhost"), "servers[0].listeners[0].address", /expected "ip:port"/],
    ["listener port", (d) => (d.servers[0].listeners[0].address = "127.0.0.1:70000"), "servers[0].listeners[0].address", /port must be/],
    ["downstream protocol", (d) => (d.servers[0].listeners[0].filter_chains[0].filters[0].config.downstream_protocol = "X"), "servers[0].listeners[0].filter_chains[0].filters[0].config.downstream_protocol", /"Http1", "Http2" or "Auto"/],
    ["no proxy filter", (d) => (d.servers[0].listeners[0].filter_chains[0].filters = []), "servers[0].listeners[0].filter_chains", /"proxy" filter/],
    ["unknown router config", (d) => (d.servers[0].listeners[0].filter_chains[0].filters[0].config.router_config_name = "nope"), "servers[0].listeners[0].filter_chains", /unknown router_config_name "nope" \(router configs: r\)/],
    ["unknown cluster", (d) => (route(d).route.cluster_name = "nope"), "servers[0].routers[0].virtual_hosts[0].routers[0].route.cluster_name", /unknown cluster "nope" \(clusters: c\)/],
    ["unknown weighted cluster", (d) => (route(d).route = { weighted_clusters: [{ cluster: { name: "c", weight: 1 } }, { cluster: { name: "x", weight: 1 } }] }), "servers[0].routers[0].virtual_hosts[0].routers[0].route.weighted_clusters[1].cluster.name", /unknown cluster "x"/],
    ["all weights zero", (d) => (route(d).route = { weighted_clusters: [{ cluster: { name: "c", weight: 0 } }] }), "servers[0].routers[0].virtual_hosts[0].routers[0].route.weighted_clusters", /every weight is 0/],
    ["cluster_name and weighted", (d) => (route(d).route.weighted_clusters = [{ cluster: { name: "c", weight: 1 } }]), "servers[0].routers[0].virtual_hosts[0].routers[0].route", /not both/],
    ["no cluster", (d) => (route(d).route = {}), "servers[0].routers[0].virtual_hosts[0].routers[0].route", /"cluster_name" or a non-empty "weighted_clusters"/],
    ["bad path regex", (d) => (route(d).match = { regex: "/a(b" }), "servers[0].routers[0].virtual_hosts[0].routers[0].match.regex", /invalid regular expression "\/a\(b"/],
    ["bad header regex", (d) => (route(d).match.headers = [{ name: "x", value: "[", regex: true }]), "servers[0].routers[0].virtual_hosts[0].routers[0].match.headers[0].value", /invalid regular expression/],
    ["two path kinds", (d) => (route(d).match = { prefix: "/", path: "/a" }), "servers[0].routers[0].virtual_hosts[0].routers[0].match", /one of "prefix", "path", "regex", not prefix and path/],
    ["path without slash", (d) => (route(d).match = { path: "a" }), "servers[0].routers[0].virtual_hosts[0].routers[0].match.path", /starting with "\/"/],
    ["missing match", (d) => delete route(d).match, "servers[0].routers[0].virtual_hosts[0].routers[0].match", /required/],
    ["route and direct", (d) => (route(d).direct_response = { status: 200 }), "servers[0].routers[0].virtual_hosts[0].routers[0]", /not both/],
    ["direct status", (d) => (vh(d).routers = [{ match: { prefix: "/" }, direct_response: { status: 99 } }]), "servers[0].routers[0].virtual_hosts[0].routers[0].direct_response.status", /from 200 to 599, got 99/],
    ["bad timeout", (d) => (route(d).route.timeout = "10 seconds"), "servers[0].routers[0].virtual_hosts[0].routers[0].route.timeout", /expected a duration/],
    ["bad retry status", (d) => (route(d).route.retry_policy = { retry_on: true, retry_on_statuses: [200] }), "servers[0].routers[0].virtual_hosts[0].routers[0].route.retry_policy.retry_on_statuses[0]", /400 to 599/],
    ["bad gRPC retry code", (d) => (route(d).route.retry_policy = { retry_on: true, retry_on_grpc_statuses: ["unavailable", "UNAVAILABLE"] }), "servers[0].routers[0].virtual_hosts[0].routers[0].route.retry_policy.retry_on_grpc_statuses[1]", /expected a gRPC status code 1\.\.16 or one of "cancelled", .*"unavailable".*, got "UNAVAILABLE"/],
    ["gRPC retry code 0", (d) => (route(d).route.retry_policy = { retry_on: true, retry_on_grpc_statuses: [0] }), "servers[0].routers[0].virtual_hosts[0].routers[0].route.retry_policy.retry_on_grpc_statuses[0]", /1 to 16|1\.\.16|>= 1/],
    ["bad fallback", (d) => (route(d).route.switchyard = { fallback: "maybe" }), "servers[0].routers[0].virtual_hosts[0].routers[0].route.switchyard.fallback", /"none", "any", "default"/],
    ["duplicate plugin", (d) => (route(d).route.switchyard = { plugins: ["a", "a"] }), "servers[0].routers[0].virtual_hosts[0].routers[0].route.switchyard.plugins[1]", /listed twice/],
    ["bad domain wildcard", (d) => (vh(d).domains = ["foo.*"]), "servers[0].routers[0].virtual_hosts[0].domains[0]", /wildcard is allowed only as the first character/],
    ["empty domains", (d) => (vh(d).domains = []), "servers[0].routers[0].virtual_hosts[0].domains", /at least one domain/],
    ["duplicate domain across vhosts", (d) => d.servers[0].routers[0].virtual_hosts.push({ name: "vh2", domains: ["*"], routers: [] }), "servers[0].routers[0].virtual_hosts[1].domains[0]", /already served by servers\[0\].routers\[0\].virtual_hosts\[0\]/],
    ["duplicate vhost name", (d) => d.servers[0].routers[0].virtual_hosts.push({ name: "vh", domains: ["a.com"], routers: [] }), "servers[0].routers[0].virtual_hosts[1].name", /duplicate virtual host name/],
    ["duplicate router config", (d) => d.servers[0].routers.push({ router_config_name: "r", virtual_hosts: [] }), "servers[0].routers[1].router_config_name", /duplicate router_config_name "r"/],
    ["duplicate cluster", (d) => d.cluster_manager.clusters.push({ Name: "c", hosts: [] }), "cluster_manager.clusters[1].name", /duplicate cluster name "c"/],
    ["duplicate listener address", (d) => d.servers[0].listeners.push({ ...d.servers[0].listeners[0], name: "l2" }), "servers[0].listeners[1].address", /duplicate listener address 127.0.0.1:8080/],
    ["duplicate listener name", (d) => d.servers[0].listeners.push({ ...d.servers[0].listeners[0], address: "127.0.0.1:8081" }), "servers[0].listeners[1].name", /duplicate listener name "l"/],
    ["cluster without name", (d) => delete d.cluster_manager.clusters[0].name, "cluster_manager.clusters[0].name", /required/],
    ["name and Name", (d) => (d.cluster_manager.clusters[0].Name = "c"), "cluster_manager.clusters[0].Name", /not both/],
    ["bad lb_type", (d) => (d.cluster_manager.clusters[0].lb_type = "LB_FASTEST"), "cluster_manager.clusters[0].lb_type", /expected one of LB_ROUNDROBIN/],
    ["bad cluster type", (d) => (d.cluster_manager.clusters[0].type = "MAGIC"), "cluster_manager.clusters[0].type", /"SIMPLE", "STRICT_DNS" or "DNS_SRV"/],
    ["host weight", (d) => (d.cluster_manager.clusters[0].hosts[0].weight = 0), "cluster_manager.clusters[0].hosts[0].weight", /from 1 to 1000000, got 0/],
    ["host address", (d) => (d.cluster_manager.clusters[0].hosts[0].address = "127.0.10.1"), "cluster_manager.clusters[0].hosts[0].address", /expected "ip:port"/],
    ["duplicate host", (d) => d.cluster_manager.clusters[0].hosts.push({ address: "127.0.0.1:1" }), "cluster_manager.clusters[0].hosts[1].address", /duplicate host address/],
    ["host tag value", (d) => (d.cluster_manager.clusters[0].hosts[0].metadata = { zone: { a: 1 } }), "cluster_manager.clusters[0].hosts[0].metadata.zone", /expected a string tag value/],
    ["fall_back_policy", (d) => (d.cluster_manager.clusters[0].lb_subset_config = { fall_back_policy: 7 }), "cluster_manager.clusters[0].lb_subset_config.fall_back_policy", /expected 0 \(NoFallback\)/],
    ["hash header", (d) => (d.cluster_manager.clusters[0].hash_header = "x user"), "cluster_manager.clusters[0].hash_header", /HTTP header name/],
    ["admin socket address", (d) => (d.admin = { address: { socket_address: { address: "127.0.0.1", port_value: "x" } } }), "admin.address.socket_address.port_value", /integer from 0 to 65535/],
    ["admin string", (d) => (d.admin = { address: "nowhere" }), "admin.address", /expected "ip:port"/],
    ["log level", (d) => (d.switchyard = { log_level: "loud" }), "switchyard.log_level", /expected one of trace/],
    ["servers type", (d) => (d.servers = {}), "servers", /expected an array, got an object/],
    ["no servers", (d) => delete d.servers, "servers", /required/],
  ])("%s", (_name, patch, path, message) => {
    const problems = problemsOf(doc(patch));
    const hit = problems.find((p) => p.path === path);
    expect(hit, `problems were: ${JSON.stringify(problems, null, 1)}`).toBeDefined();
    expect(hit!.message).toMatch(message);
  });

  it("lists every problem of a document at once, not only the first", () => {
    const problems = problemsOf(
      doc((d) => {
        d.servers[0].listeners[0].address = "nope";
        route(d).route.cluster_name = "missing";
        d.cluster_manager.clusters[0].lb_type = "LB_FASTEST";
        d.switchyard = { log_level: 3 };
      }),
    );
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        "servers[0].listeners[0].address",
        "servers[0].routers[0].virtual_hosts[0].routers[0].route.cluster_name",
        "cluster_manager.clusters[0].lb_type",
        "switchyard.log_level",
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it.each([
    ['{\n  "servers": [\n    {"listeners": []},\n  ]\n}', 4, 3, /trailing commas are not allowed/],
    ['{\n  "servers": [', 2, 15, /unexpected end of input/],
    ["", 1, 1, /unexpected end of input, expected a value/],
    ["{'a': 1}", 1, 2, /expected a property name in double quotes/],
    ['{"a" 1}', 1, 6, /expected ":" after a property name/],
    ['{"a": tru}', 1, 7, /unexpected "t", expected a value/],
    ['{"a": "x\ty"}', 1, 9, /control character/],
    ['{} x', 1, 4, /expected the end of the document/],
  ])("names line and column of malformed JSON %#", (text, line, column, message) => {
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain(`malformed JSON at line ${line}, column ${column}`);
    expect(problems[0]!.message).toMatch(message);
  });

  it("refuses a document that is not an object", () => {
    expect(problemsOf("[1]")).toEqual([{ path: "", message: "expected an object, got an array" }]);
  });
});

describe("parseConfig: warnings, not errors, for what we do not implement", () => {
  it("warns about unsupported MOSN fields and unknown fields, with a did-you-mean", () => {
    const { warnings } = parseConfig(
      doc((d) => {
        // tls_context and tls_context_set are read since issue 15 (test/tls-listener.test.ts, test/tls-sni.test.ts).
        d.servers[0].listeners[0].stream_filters = [];
        d.cluster_manager.clusters[0].spec = { subscribe: [] };
        route(d).route.clustr_name = "c";
        route(d).route.switchyard = { plugins: ["a"], fallbak: "any" };
        d.servers[0].listeners[0].filter_chains[0].filters.push({ type: "tcp_proxy", config: {} });
      }),
      "w.json",
    );
    const byPath = Object.fromEntries(warnings.map((w) => [w.path, w.message]));
    expect(byPath).toEqual({
      "servers[0].listeners[0].stream_filters": "not supported by Switchyard; ignored",
      "cluster_manager.clusters[0].spec": "not supported by Switchyard; ignored",
      "servers[0].routers[0].virtual_hosts[0].routers[0].route.clustr_name": 'unknown field; ignored (did you mean "cluster_name"?)',
      "servers[0].routers[0].virtual_hosts[0].routers[0].route.switchyard.fallbak": 'unknown field; ignored (did you mean "fallback"?)',
      "servers[0].listeners[0].filter_chains[0].filters[1].type": expect.stringContaining('filter type "tcp_proxy" is not supported'),
    });
  });

  it("reads STRICT_DNS and DNS_SRV clusters with their DNS settings, EDS as static with a warning, and skips redirect routes", () => {
    const { config, warnings } = parseConfig(
      doc((d) => {
        d.cluster_manager.clusters[0].type = "STRICT_DNS";
        d.cluster_manager.clusters.push({ name: "e", type: "EDS", hosts: [] });
        d.cluster_manager.clusters.push({ name: "s", type: "DNS_SRV", dns_refresh_rate: "30s", dns_resolvers: { servers: ["127.0.0.53", "127.0.0.1:5353"], port: "5300" }, hosts: [{ address: "_http._tcp.api.test" }] });
        vh(d).routers.unshift({ match: { prefix: "/old" }, redirect: { path_redirect: "/new" } });
      }),
      "w.json",
    );
    expect(config.clusters.map((c) => [c.discovery, c.dns])).toEqual([
      ["strict_dns", { refreshMs: 5000, servers: [] }],
      ["static", null],
      ["dns_srv", { refreshMs: 30000, servers: ["127.0.0.53:5300", "127.0.0.1:5353"] }],
    ]);
    expect(config.routerConfigs[0]!.virtualHosts[0]!.routes).toHaveLength(1);
    expect(warnings.map((w) => w.path)).toEqual(expect.arrayContaining(["cluster_manager.clusters[1].type", "servers[0].routers[0].virtual_hosts[0].routers[0]"]));
    expect(warnings.map((w) => w.path)).not.toContain("cluster_manager.clusters[0].type");
  });

  it("refuses DNS settings that cannot be used, naming the field", () => {
    const problems = (mutate: (d: any) => void) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      try {
        parseConfig(doc(mutate), "w.json");
      } catch (err) {
        return (err as { problems: { path: string; message: string }[] }).problems.map((p) => p.path);
      }
      return [];
    };
    expect(problems((d) => d.cluster_manager.clusters.push({ name: "s", type: "DNS_SRV", hosts: [{ address: "_http._tcp.api.test:80" }] }))).toEqual(["cluster_manager.clusters[1].hosts[0].address"]);
    expect(problems((d) => d.cluster_manager.clusters.push({ name: "s", type: "STRICT_DNS", dns_resolvers: { servers: ["dns.test"] }, hosts: [] }))).toEqual(["cluster_manager.clusters[1].dns_resolvers.servers[0]"]);
    expect(problems((d) => d.cluster_manager.clusters.push({ name: "s", type: "STRICT_DNS", dns_refresh_rate: "1ms", hosts: [] }))).toEqual(["cluster_manager.clusters[1].dns_refresh_rate"]);
  });

  it("warns about ring_hash without hash_header and DefaultSubset without default_subset", () => {
    const { warnings } = parseConfig(
      doc((d) => {
        d.cluster_manager.clusters[0].lb_type = "LB_RINGHASH";
        d.cluster_manager.clusters[0].lb_subset_config = { fall_back_policy: "DefaultSubset" };
      }),
      "w.json",
    );
    expect(warnings.map((w) => w.path).sort()).toEqual(["cluster_manager.clusters[0].hash_header", "cluster_manager.clusters[0].lb_subset_config.default_subset"]);
  });

  it("reads outlier_detection with Envoy's defaults, warns about its other fields, refuses bad bounds", () => {
    const parsed = (od: object) => parseConfig(doc((d) => (d.cluster_manager.clusters[0].outlier_detection = od)), "o.json");
    const ok = parsed({ consecutive_5xx: 3, base_ejection_time: "10s", interval: "10s", max_ejection_percent: 50 });
    expect(ok.config.clusters[0]!.outlier).toEqual({ consecutiveFailures: 3, baseEjectionMs: 10_000, maxEjectionMs: 300_000 });
    expect(ok.warnings.map((w) => [w.path, w.message])).toEqual([
      ["cluster_manager.clusters[0].outlier_detection.interval", "not supported by Switchyard; ignored"],
      ["cluster_manager.clusters[0].outlier_detection.max_ejection_percent", "not supported by Switchyard; ignored"],
    ]);
    expect(parsed({}).config.clusters[0]!.outlier).toEqual({ consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000 });
    expect(parsed({ base_ejection_time: "10m" }).config.clusters[0]!.outlier!.maxEjectionMs).toBe(600_000);
    expect(parseConfig(doc(), "o.json").config.clusters[0]!.outlier).toBeNull();
    const bad = (od: object) => problemsOf(doc((d) => (d.cluster_manager.clusters[0].outlier_detection = od)));
    expect(bad({ consecutive_5xx: 0 })).toEqual([{ path: "cluster_manager.clusters[0].outlier_detection.consecutive_5xx", message: "expected an integer from 1 to 1000, got 0" }]);
    expect(bad({ base_ejection_time: "1m", max_ejection_time: "10s" })).toEqual([
      { path: "cluster_manager.clusters[0].outlier_detection.max_ejection_time", message: "10000 ms is below base_ejection_time 60000 ms" },
    ]);
    expect(bad({ base_ejection_time: "0s" })).toEqual([{ path: "cluster_manager.clusters[0].outlier_detection.base_ejection_time", message: expect.stringContaining("above 0") }]);
    expect(bad({ consecutive_5xx: "3" })[0]!.path).toBe("cluster_manager.clusters[0].outlier_detection.consecutive_5xx");
  });

  it("warns that prefix_rewrite does nothing on a regex route, and not on a prefix route", () => {
    const withRewrite = (match: object) =>
      parseConfig(
        doc((d) => {
          route(d).match = match;
          route(d).route.prefix_rewrite = "/v2";
        }),
        "w.json",
      ).warnings;
    expect(withRewrite({ regex: "/api/.*" })).toEqual([
      { path: "servers[0].routers[0].virtual_hosts[0].routers[0].route.prefix_rewrite", message: expect.stringContaining("no effect on a regex route") },
    ]);
    expect(withRewrite({ prefix: "/api" })).toEqual([]);
  });
});

describe("loadConfigFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "sy-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names a missing file with E_CONFIG_READ", async () => {
    const file = join(dir, "missing.json");
    await expect(loadConfigFile(file)).rejects.toMatchObject({ code: "E_CONFIG_READ", source: file, problems: [{ message: expect.stringContaining("ENOENT") }] });
  });

  it("every error code is a stable E_CONFIG_ string", () => {
    for (const code of CONFIG_ERROR_CODES) {
      const e = new ConfigError(code, "x.json", [{ path: "a.b", message: "bad" }]);
      expect(e.code).toBe(code);
      expect(e.name).toBe("ConfigError");
      expect(e.message).toBe("x.json: 1 problem in config\n  a.b: bad");
    }
  });
});

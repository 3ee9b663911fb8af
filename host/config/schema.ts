// The JSON Schema (draft 2020-12) of the config, printed by `switchyard schema` for editors and CI.
// It describes structure; parseConfig also checks what a schema cannot (cross-references, regexes,
// addresses, durations). Objects allow other properties because a MOSN config carries many fields we
// ignore with a warning. It is the one description of the config: the readers take their field lists and
// number bounds from it (host/config/fields.ts), and test/config-schema.test.ts holds the parser and ajv on it
// to the same answers.

import { GRPC_RETRY_NAMES } from "../util/grpc-codes.js";
import { MAX_WEIGHT } from "../abi/limits.js";

const ref = (name: string) => ({ $ref: `#/$defs/${name}` });
const str = { type: "string" } as const;
const nonEmpty = { type: "string", minLength: 1 } as const;
const duration = {
  description: 'A duration: a Go duration string ("10s", "500ms", "1m30s") or a number of milliseconds.',
  oneOf: [{ type: "string", pattern: "^(0|((\\d+(\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h))+)$" }, { type: "number", minimum: 0 }],
};
/** The largest circuit-breaker limit accepted: no threshold is near it, so a typo with extra digits is refused. */
const MAX_BREAKER_LIMIT = 1_000_000_000;
const tagValue = { type: ["string", "number", "boolean"] };
const tagMap = { type: "object", additionalProperties: tagValue };

export const CONFIG_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://switchyard.dev/schema/config.json",
  title: "Switchyard config (MOSN v2 JSON shape)",
  type: "object",
  required: ["servers"],
  properties: {
    servers: { type: "array", minItems: 1, items: ref("server") },
    cluster_manager: ref("clusterManager"),
    admin: ref("admin"),
    switchyard: ref("switchyard"),
  },
  $defs: {
    server: {
      type: "object",
      required: ["listeners"],
      properties: { listeners: { type: "array", items: ref("listener") }, routers: { type: "array", items: ref("routerConfig") } },
    },
    listener: {
      type: "object",
      required: ["address", "filter_chains"],
      properties: {
        name: str,
        address: { type: "string", pattern: "^(\\[[0-9A-Fa-f:.]+\\]|[^:\\[\\]\\s]+):\\d{1,5}$", description: '"ip:port"' },
        filter_chains: { type: "array", items: ref("filterChain") },
        switchyard: ref("listenerSwitchyard"),
      },
    },
    listenerSwitchyard: {
      type: "object",
      description: "Switchyard's per-listener limits against slow or idle clients (defaults as nginx's).",
      properties: {
        header_timeout: { ...duration, default: "60s" },
        request_timeout: { ...duration, default: "300s" },
        idle_timeout: { ...duration, default: "75s" },
        max_connections: { type: "integer", minimum: 1, maximum: 1000000, default: 10000 },
        http2: ref("listenerHttp2"),
        http1_codec: { type: "string", enum: ["llhttp", "node"], default: "llhttp", description: "What serves HTTP/1.1: the codec on node:net over Node's llhttp (host/server/http1/), or node:http." },
      },
    },
    listenerHttp2: {
      type: "object",
      description: "HTTP/2 limits of a listener whose downstream_protocol is Http2 or Auto.",
      properties: {
        max_concurrent_streams: { type: "integer", minimum: 1, maximum: 10000, default: 100 },
        max_header_list_size: { type: "integer", minimum: 1024, maximum: 16777216, default: 65536 },
        initial_window_size: { type: "integer", minimum: 65535, maximum: 2147483647, default: 65535 },
        max_stream_resets_per_second: { type: "integer", minimum: 1, maximum: 100000, default: 200 },
      },
    },
    filterChain: { type: "object", required: ["filters"], properties: { filters: { type: "array", items: ref("filter") }, tls_context: ref("tlsContext"), tls_context_set: { type: "array", minItems: 1, items: ref("tlsContext"), description: "Several certificates on one listener, chosen by the client's SNI (each context's server_name, its certificate's CN and DNS names); the first is served when none matches." } } },
    tlsContext: {
      type: "object",
      description: 'MOSN\'s tls_context. cert_chain, private_key, ca_cert: a PEM (a value containing "-----BEGIN") or a file path. On a listener: cert_chain and private_key are served; verify_client asks for a client certificate that chains to ca_cert, require_client_cert alone for any. On a cluster: ca_cert (default: Node\'s public CAs), an optional client certificate, server_name (SNI; default the host\'s hostname or address), insecure_skip.',
      properties: {
        status: { type: "boolean", default: false },
        cert_chain: nonEmpty,
        private_key: nonEmpty,
        ca_cert: nonEmpty,
        server_name: nonEmpty,
        insecure_skip: { type: "boolean", default: false },
        verify_client: { type: "boolean", default: false },
        require_client_cert: { type: "boolean", default: false },
      },
    },
    filter: {
      type: "object",
      required: ["type"],
      properties: { type: str, config: { type: "object" } },
      allOf: [
        { if: { properties: { type: { const: "proxy" } } }, then: { properties: { config: ref("proxyConfig") } } },
        { if: { properties: { type: { const: "connection_manager" } } }, then: { properties: { config: ref("connectionManagerConfig") } } },
      ],
    },
    proxyConfig: {
      type: "object",
      required: ["router_config_name"],
      properties: {
        downstream_protocol: { enum: ["Http1", "Http2", "Auto", "http1", "http2", "auto", "HTTP1", "HTTP2", "AUTO"] },
        upstream_protocol: str,
        router_config_name: nonEmpty,
      },
    },
    connectionManagerConfig: {
      type: "object",
      required: ["router_config_name", "virtual_hosts"],
      properties: { router_config_name: nonEmpty, virtual_hosts: { type: "array", items: ref("virtualHost") } },
    },
    routerConfig: {
      type: "object",
      required: ["router_config_name", "virtual_hosts"],
      properties: { router_config_name: nonEmpty, virtual_hosts: { type: "array", items: ref("virtualHost") } },
    },
    virtualHost: {
      type: "object",
      required: ["domains", "routers"],
      properties: {
        name: str,
        domains: { type: "array", minItems: 1, items: { type: "string", pattern: "^(\\*|\\*?[^*\\s/?#@]+)$" } },
        routers: { type: "array", items: ref("router") },
      },
    },
    router: {
      type: "object",
      required: ["match"],
      oneOf: [{ required: ["route"] }, { required: ["direct_response"] }],
      properties: { name: nonEmpty, match: ref("match"), route: ref("route"), direct_response: ref("directResponse") },
    },
    match: {
      type: "object",
      properties: { prefix: str, path: { type: "string", pattern: "^/" }, regex: str, headers: { type: "array", items: ref("headerMatcher") } },
    },
    headerMatcher: {
      type: "object",
      required: ["name", "value"],
      properties: { name: nonEmpty, value: str, regex: { type: "boolean" } },
    },
    route: {
      type: "object",
      properties: {
        cluster_name: nonEmpty,
        weighted_clusters: { type: "array", items: ref("weightedCluster") },
        metadata_match: ref("metadata"),
        timeout: duration,
        retry_policy: ref("retryPolicy"),
        prefix_rewrite: str,
        host_rewrite: nonEmpty,
        request_headers_to_add: { type: "array", items: ref("headerToAdd") },
        switchyard: ref("routeSwitchyard"),
      },
    },
    weightedCluster: { type: "object", required: ["cluster"], properties: { cluster: ref("clusterWeight") } },
    clusterWeight: {
      type: "object",
      required: ["name", "weight"],
      properties: { name: nonEmpty, weight: { type: "integer", minimum: 0, maximum: 1000000 }, metadata_match: ref("metadata") },
    },
    retryPolicy: {
      type: "object",
      properties: {
        retry_on: { type: "boolean" },
        retry_timeout: duration,
        num_retries: { type: "integer", minimum: 0, maximum: 10 },
        retry_on_statuses: { type: "array", items: { type: "integer", minimum: 400, maximum: 599 } },
        retry_on_grpc_statuses: { type: "array", items: { anyOf: [{ type: "integer", minimum: 1, maximum: 16 }, { enum: GRPC_RETRY_NAMES }] } },
      },
    },
    headerToAdd: { type: "object", required: ["header"], properties: { header: ref("headerValue"), append: { type: "boolean" } } },
    headerValue: { type: "object", required: ["key", "value"], properties: { key: nonEmpty, value: str } },
    directResponse: {
      type: "object",
      required: ["status"],
      properties: { status: { type: "integer", minimum: 200, maximum: 599 }, body: str },
    },
    routeSwitchyard: {
      type: "object",
      description: "Switchyard's per-route extension: which plugins run and what happens when they keep no host.",
      properties: {
        plugins: { type: "array", items: nonEmpty, description: "plugin names; absent: every loaded plugin" },
        optional_plugins: { type: "array", items: nonEmpty, description: "names from plugins this route serves without: /readyz does not wait for them" },
        fallback: { enum: ["none", "any", "default"] },
        wait: ref("wait"),
        fail_fast: { type: "boolean" },
      },
    },
    wait: { type: "object", properties: { max_count: { type: "integer", minimum: 0, maximum: 100 } } },
    clusterManager: { type: "object", properties: { clusters: { type: "array", items: ref("cluster") } } },
    cluster: {
      type: "object",
      anyOf: [{ required: ["name"] }, { required: ["Name"] }],
      properties: {
        name: nonEmpty,
        Name: nonEmpty,
        type: { enum: ["SIMPLE", "STRICT_DNS", "DNS_SRV", "EDS", "DYNAMIC", "ORIGINAL_DST", "LOGICAL_DNS"] },
        lb_type: {
          enum: [
            "LB_ROUNDROBIN", "LB_RANDOM", "LB_WEIGHTED_ROUNDROBIN", "LB_LEAST_REQUEST", "LB_MAGLEV", "LB_RINGHASH",
            "LB_LEAST_CONNECTION", "LB_PEAK_EWMA",
            "round_robin", "random", "weighted_round_robin", "least_request", "maglev", "ring_hash",
          ],
        },
        hosts: { type: "array", items: ref("host") },
        lb_subset_config: ref("lbSubsetConfig"),
        connect_timeout: duration,
        hash_header: nonEmpty,
        outlier_detection: ref("outlierDetection"),
        health_check: ref("healthCheck"),
        circuit_breakers: { oneOf: [{ type: "array", items: ref("thresholds") }, ref("circuitBreakers")] },
        tls_context: ref("tlsContext"),
        http2_protocol_options: ref("http2ProtocolOptions"),
        dns_refresh_rate: duration,
        dns_resolvers: ref("dnsResolvers"),
      },
    },
    dnsResolvers: {
      type: "object",
      description: "The DNS servers a STRICT_DNS or DNS_SRV cluster asks (default: the system's). servers: IP addresses or \"ip:port\"; port: for servers given without one (default 53).",
      properties: { servers: { type: "array", items: nonEmpty }, port: { anyOf: [{ type: "integer", minimum: 1, maximum: 65535 }, { type: "string", pattern: "^[0-9]{1,5}$" }] } },
    },
    http2ProtocolOptions: {
      type: "object",
      description: "Envoy's http2_protocol_options: present (even empty), the cluster's hosts are spoken to in HTTP/2 (h2 by ALPN over TLS, h2c by prior knowledge in cleartext).",
      properties: {},
    },
    outlierDetection: {
      type: "object",
      description: "Envoy's consecutive-failure outlier detection: a host answering 5xx, or failing to connect, consecutive_5xx times in a row is ejected for base_ejection_time × its ejection count, at most max_ejection_time.",
      properties: {
        consecutive_5xx: { type: "integer", minimum: 1, maximum: 1000, default: 5 },
        base_ejection_time: duration,
        max_ejection_time: duration,
      },
    },
    healthCheck: {
      type: "object",
      description: "MOSN's active health check: every host probed every interval (+ a random part of interval_jitter); unhealthy_threshold failures in a row mark it unhealthy, healthy_threshold passes in a row bring it back.",
      properties: {
        protocol: { type: "string", description: '"Http1": an HTTP GET of check_config.http_check_config.path; "TCP" or absent: a TCP connect' },
        timeout: { ...duration, default: "1s" },
        interval: { ...duration, default: "10s" },
        interval_jitter: { ...duration, default: "0s" },
        healthy_threshold: { type: "integer", minimum: 1, maximum: 1000, default: 2 },
        unhealthy_threshold: { type: "integer", minimum: 1, maximum: 1000, default: 3 },
        service_name: str,
        check_config: ref("checkConfig"),
      },
    },
    circuitBreakers: {
      type: "object",
      description: "Envoy's circuit_breakers: the thresholds whose priority is DEFAULT (or absent) apply; MOSN writes the thresholds list itself.",
      properties: { thresholds: { type: "array", items: ref("thresholds") } },
    },
    thresholds: {
      type: "object",
      properties: {
        priority: { enum: ["DEFAULT", "HIGH"] },
        max_connections: { type: "integer", minimum: 1, maximum: MAX_BREAKER_LIMIT, default: 1024 },
        max_pending_requests: { type: "integer", minimum: 0, maximum: MAX_BREAKER_LIMIT, default: 1024 },
        max_requests: { type: "integer", minimum: 1, maximum: MAX_BREAKER_LIMIT, default: 1024 },
        max_retries: { type: "integer", minimum: 0, maximum: MAX_BREAKER_LIMIT, default: 3 },
        retry_budget: ref("retryBudget"),
      },
    },
    retryBudget: {
      type: "object",
      description: "Envoy's retry budget, replacing max_retries: retries in flight at most budget_percent % of the requests in flight and pending, and at least min_retry_concurrency.",
      properties: {
        budget_percent: { oneOf: [{ type: "number", minimum: 0, maximum: 100 }, ref("percent")], default: 20 },
        min_retry_concurrency: { type: "integer", minimum: 0, maximum: MAX_BREAKER_LIMIT, default: 3 },
      },
    },
    percent: { type: "object", description: "Envoy's Percent message.", properties: { value: { type: "number", minimum: 0, maximum: 100 } } },
    checkConfig: { type: "object", properties: { http_check_config: ref("httpCheckConfig") } },
    httpCheckConfig: {
      type: "object",
      properties: {
        path: { type: "string", pattern: "^/", default: "/" },
        port: { type: "integer", minimum: 1, maximum: 65535 },
        timeout: duration,
        expected_statuses: { type: "array", minItems: 1, items: { type: "integer", minimum: 100, maximum: 599 }, default: [200] },
      },
    },
    host: {
      type: "object",
      required: ["address"],
      properties: {
        address: { type: "string", pattern: "^(\\[[0-9A-Fa-f:.]+\\]|[^:\\[\\]\\s]+):\\d{1,5}$" },
        hostname: str,
        weight: { type: "integer", minimum: 1, maximum: MAX_WEIGHT },
        metadata: ref("metadata"),
      },
    },
    metadata: {
      description: 'Tags: a plain map, or MOSN\'s {"filter_metadata": {"mosn.lb": {…}}}.',
      oneOf: [
        { type: "object", required: ["filter_metadata"], properties: { filter_metadata: { type: "object", properties: { "mosn.lb": tagMap } } } },
        { type: "object", not: { required: ["filter_metadata"] }, additionalProperties: tagValue },
      ],
    },
    lbSubsetConfig: {
      type: "object",
      properties: {
        fall_back_policy: {
          oneOf: [
            { enum: [0, 1, 2] },
            { enum: ["NoFallback", "AnyEndpoint", "DefaultSubset", "NO_FALLBACK", "ANY_ENDPOINT", "DEFAULT_SUBSET", "none", "any", "default"] },
          ],
        },
        default_subset: ref("metadata"),
      },
    },
    admin: {
      type: "object",
      properties: { address: { oneOf: [{ type: "string" }, ref("adminAddress")] } },
    },
    adminAddress: { type: "object", required: ["socket_address"], properties: { socket_address: ref("socketAddress") } },
    socketAddress: {
      type: "object",
      required: ["address", "port_value"],
      properties: { address: nonEmpty, port_value: { type: "integer", minimum: 0, maximum: 65535 } },
    },
    switchyard: {
      type: "object",
      description: "Switchyard's own settings. Relative paths are resolved against the config file's folder.",
      properties: {
        plugins_dir: nonEmpty,
        state_dir: nonEmpty,
        admin_token_file: nonEmpty,
        log_level: { enum: ["trace", "debug", "info", "warn", "error", "fatal", "silent"] },
        signatures: ref("signatures"),
        access_log: { type: "string", minLength: 1, description: "Where access-log lines go: \"stdout\" or a file path; default: the app log." },
        upstream_client: { type: "string", enum: ["undici", "llhttp"], default: "llhttp", description: "The HTTP/1.1 client of upstream connections: undici's Pool, or Switchyard's on Node's llhttp (host/proxy/h1/). HTTP/2 stays undici's." },
      },
    },
    signatures: {
      type: "object",
      description: "Signed bundles: the public keys (PEM files of switchyard keygen) a bundle may be signed by, and whether a signature is required.",
      properties: { trusted_keys: { type: "array", items: nonEmpty }, required: { type: "boolean" } },
    },
  },
} as const;

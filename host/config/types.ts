// The normalized config: what parseConfig returns once a MOSN v2 JSON document (plus our `switchyard`
// extension) has been checked. Every field is typed and defaulted, durations are milliseconds, names are
// our lowercase vocabulary, and the whole object is deep-frozen: a reload builds a new Config and swaps it.
//
// `where` fields hold the JSON path of the thing in the source document, so that logs, `explain` and
// later errors can point at the line a user wrote.

import type { HostSpec } from "../cluster/types.js";
import type { HealthCheckSettings } from "../cluster/health-check.js";
import type { CircuitBreakerSettings } from "../proxy/circuit-breaker.js";
import type { ListenerLimits } from "./listener-limits.js";
import type { ClusterTls, ListenerTls } from "./tls.js";

/** What a route does when its plugin chain keeps no host (Envoy / MOSN subset fall_back_policy): one type. */
import type { Fallback } from "../cluster/cluster-config.js";
import type { LbPolicy } from "../cluster/lb/index.js";
export type { Fallback, LbPolicy };
export const FALLBACKS: readonly Fallback[] = ["none", "any", "default"];

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** http1: HTTP/1.1 only; http2: HTTP/2 only (h2 by ALPN, h2c by prior knowledge); auto: either, per connection. */
export type DownstreamProtocol = "http1" | "http2" | "auto";

/** Where a problem or a warning is: the source (file name) and the JSON path inside it. */
export interface ConfigProblem {
  readonly path: string; // "servers[0].listeners[1].address"; "" for the document itself
  readonly message: string;
}
export type ConfigWarning = ConfigProblem;

export interface Config {
  /** The file (or label) the config was read from. */
  readonly source: string;
  readonly listeners: readonly ListenerConfig[];
  /** Every router config, from `servers[].routers[]` and from inline `connection_manager` filters. */
  readonly routerConfigs: readonly RouterConfig[];
  readonly clusters: readonly ClusterConfig[];
  readonly admin: AdminConfig;
  readonly switchyard: SwitchyardSettings;
}

export interface ListenerConfig {
  readonly name: string;
  readonly where: string;
  /** As written: "ip:port". */
  readonly address: string;
  readonly host: string; // IPv6 without brackets
  readonly port: number; // 0 .. 65535 (0: any free port, for tests)
  readonly downstreamProtocol: DownstreamProtocol;
  /** The proxy filter's upstream_protocol: http2 for every cluster it routes to; auto: h2 where ALPN offers it. */
  readonly upstreamProtocol: DownstreamProtocol;
  readonly routerConfigName: string;
  /** Timeouts and connection cap (host/config/listener-limits.ts). */
  readonly limits: ListenerLimits;
  /** The filter chain's tls_context, when its status is true: the listener serves HTTPS. With a tls_context_set,
   * its first context: the certificate served when the client's SNI matches no other (tlsContexts[0]). */
  readonly tls: ListenerTls | null;
  /** Every certificate the listener serves, in config order, chosen by SNI (host/server/sni.ts): [] cleartext,
   * [tls] for a tls_context, the contexts of a tls_context_set whose status is true. */
  readonly tlsContexts: readonly ListenerTls[];
  /** What serves HTTP/1.1 connections: node:http, or the llhttp codec of host/server/http1/ (issue 19). */
  readonly http1Codec: Http1Codec;
}

export type Http1Codec = "node" | "llhttp";

export interface AdminConfig {
  readonly address: string; // "127.0.0.1:9901"
  readonly host: string;
  readonly port: number;
}

/** Our `switchyard` top-level block. Relative paths are resolved against the config file's folder. */
export interface SwitchyardSettings {
  readonly pluginsDir: string | null;
  readonly stateDir: string | null;
  readonly adminTokenFile: string | null;
  readonly logLevel: LogLevel;
  /** Public key files (resolved paths) a bundle's signature.json may be signed by, and whether one is required. */
  readonly signatures: { readonly trustedKeys: readonly string[]; readonly required: boolean };
  /** Where access-log lines go: "stdout", a file (resolved path), or null: the app log (host/logging/access-destination.ts). */
  readonly accessLog: string | null;
  /** The HTTP/1.1 client of upstream pools: undici's Pool, or host/proxy/h1/ on Node's llhttp (issue 19). */
  readonly upstreamClient: "undici" | "llhttp";
}

export interface RouterConfig {
  readonly name: string; // router_config_name
  readonly where: string;
  readonly virtualHosts: readonly VirtualHostConfig[];
}

export interface VirtualHostConfig {
  readonly name: string;
  readonly where: string;
  /** Lowercased, port removed: "example.com", "*.example.com", "*". */
  readonly domains: readonly string[];
  readonly routes: readonly RouteConfig[];
}

export interface HeaderMatchConfig {
  readonly name: string; // lowercased
  readonly value: string;
  readonly regex: boolean; // value is a regex that must match the whole header value
}

export interface RouteMatchConfig {
  /** At most one of path, prefix, regex; none means any path (MOSN's header-only routes). */
  readonly path: string | null;
  readonly prefix: string | null;
  readonly regex: string | null; // must match the whole path, query excluded
  readonly headers: readonly HeaderMatchConfig[];
}

export interface RouteConfig {
  readonly where: string; // "servers[0].routers[0].virtual_hosts[0].routers[2]"
  /** The entry's `name`, else its JSON path: what metrics, logs, readiness and explain call the route. */
  readonly label: string;
  readonly match: RouteMatchConfig;
  readonly action: RouteAction | DirectResponse;
}

export interface DirectResponse {
  readonly kind: "direct";
  readonly status: number;
  readonly body: string;
}

export interface ClusterChoice {
  readonly name: string;
  readonly weight: number; // 1 for a single cluster_name
  /** Tags every chosen host must carry: route metadata_match merged with the weighted cluster's own. */
  readonly metadataMatch: Readonly<Record<string, string>>;
  /** The route's `switchyard.fallback`, else the cluster's lb_subset_config fall_back_policy, else "none". */
  readonly fallback: Fallback;
}

export interface RetryPolicy {
  /** 0 when the route has no retry_policy or retry_on is false. */
  readonly numRetries: number;
  readonly perTryTimeoutMs: number | null;
  /** Upstream statuses that are retried on another host (connect errors always are, when numRetries > 0). */
  readonly retryOnStatuses: readonly number[];
  /** gRPC status codes of a Trailers-Only answer that are retried on another host (retry_on_grpc_statuses). */
  readonly retryOnGrpcStatuses: readonly number[];
}

export interface HeaderToAdd {
  readonly name: string; // lowercased
  readonly value: string;
  /** true: add another value; false: replace any value the request had. MOSN's default is true. */
  readonly append: boolean;
}

export interface RouteAction {
  readonly kind: "route";
  /** One entry for `cluster_name`, several for `weighted_clusters`. */
  readonly clusters: readonly ClusterChoice[];
  readonly totalWeight: number;
  readonly timeoutMs: number; // 0: no route timeout
  readonly retry: RetryPolicy;
  readonly prefixRewrite: string | null;
  readonly hostRewrite: string | null;
  readonly requestHeadersToAdd: readonly HeaderToAdd[];
  /** Plugin names to run, in chain order decided by the plugins; null: every loaded plugin. */
  readonly plugins: readonly string[] | null;
  /** Names in `plugins` the route serves without: /readyz does not wait for them. */
  readonly optionalPlugins: readonly string[];
  /** How many Wait verdicts the route honours before it answers 503. */
  readonly waitMaxCount: number;
  /** When no host can be had, answer at once instead of waiting or falling back further. */
  readonly failFast: boolean;
}

export interface ClusterConfig {
  readonly name: string;
  readonly where: string;
  /**
   * SIMPLE → "static"; STRICT_DNS → "strict_dns" (each host's name re-resolved, A and AAAA, every address a
   * host); DNS_SRV → "dns_srv" (each host's name an SRV name: target, port, weight). host/cluster/dns-discovery.ts.
   */
  readonly discovery: "static" | "strict_dns" | "dns_srv";
  /** The DNS settings of a strict_dns / dns_srv cluster; null for a static one. */
  readonly dns: DnsSettings | null;
  readonly lbType: LbPolicy;
  readonly hosts: readonly HostSpec[];
  readonly connectTimeoutMs: number;
  readonly fallback: Fallback;
  /** lb_subset_config.default_subset: the tags of the hosts used by the "default" fallback. */
  readonly defaultSubset: Readonly<Record<string, string>>;
  /** For ring_hash / maglev: the request header whose value is hashed (lowercase), or null. */
  readonly hashHeader: string | null;
  /** outlier_detection: eject a host after this many failures in a row; null when the cluster has none. */
  readonly outlier: OutlierConfig | null;
  /** health_check: active checks of every host (host/cluster/health-check.ts); null when the cluster has none. */
  readonly healthCheck: HealthCheckSettings | null;
  /** circuit_breakers: the DEFAULT thresholds (host/proxy/circuit-breaker.ts); null when the cluster has none. */
  readonly circuitBreakers: CircuitBreakerSettings | null;
  /** tls_context with status true: the hosts are spoken to over TLS (host/config/tls.ts). */
  readonly tls: ClusterTls | null;
  /** http2_protocol_options present: the hosts are spoken to in HTTP/2. */
  readonly http2: boolean;
}

/** dns_refresh_rate and dns_resolvers of a DNS cluster. */
export interface DnsSettings {
  readonly refreshMs: number;
  /** "ip:port" of each DNS server; empty: the system's servers (/etc/resolv.conf). */
  readonly servers: readonly string[];
}

/** Envoy's consecutive_5xx outlier detection (a 5xx or a gateway failure counts), with its defaults. */
export interface OutlierConfig {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
}

/** Defaults that the docs promise; one place so that docs/config.md and the code agree. */
export const DEFAULTS = {
  adminAddress: "127.0.0.1:9901",
  routeTimeoutMs: 60_000, // MOSN's global default
  connectTimeoutMs: 3_000, // MOSN's default
  numRetriesWhenOn: 1, // retry_on: true without num_retries
  retryOnStatuses: [502, 503, 504] as readonly number[],
  retryOnGrpcStatuses: [14] as readonly number[], // UNAVAILABLE, what 502/503/504 map to
  // Envoy's outlier_detection defaults.
  outlierConsecutive5xx: 5,
  outlierBaseEjectionMs: 30_000,
  outlierMaxEjectionMs: 300_000,
  // health_check defaults (MOSN requires them given; these are nginx's and HAProxy's usual rise 2 / fall 3).
  healthCheckTimeoutMs: 1_000,
  healthCheckIntervalMs: 10_000,
  healthCheckHealthyThreshold: 2,
  healthCheckUnhealthyThreshold: 3,
  // circuit_breakers thresholds not given: Envoy's defaults; retry_budget's too.
  breakerMaxConnections: 1024,
  breakerMaxPendingRequests: 1024,
  breakerMaxRequests: 1024,
  breakerMaxRetries: 3,
  retryBudgetPercent: 20,
  retryBudgetMinConcurrency: 3,
  waitMaxCount: 3,
  logLevel: "info" as LogLevel,
  lbType: "round_robin" as LbPolicy,
} as const;

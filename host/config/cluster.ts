// cluster_manager.clusters[] → ClusterConfig.

import type { HostSpec } from "../cluster/types.js";
import { MAX_HOSTS, MAX_TAGS_PER_HOST } from "../abi/limits.js";
import { parseHostPort } from "./address.js";
import { FIELDS, numberRule } from "./fields.js";
import { readFallback, readTags } from "./metadata.js";
import { indexPath, keyPath, type Reader } from "./reader.js";
import { isIP } from "node:net";
import { DEFAULTS, type DnsSettings, type ClusterConfig, type Fallback, type LbPolicy, type OutlierConfig } from "./types.js";
import { HTTP_TOKEN } from "../util/http-token.js";
import { clusterNameProblem } from "../cluster/cluster-name.js";
import { readClusterTls } from "./tls.js";
import { readHealthCheck } from "./health-check.js";
import { readCircuitBreakers } from "./circuit-breakers.js";

// Number bounds from the schema (host/config/fields.ts).
const CONSECUTIVE_5XX = numberRule("outlierDetection", "consecutive_5xx");
const HOST_WEIGHT = numberRule("host", "weight");

const LB_NAMES: Record<string, LbPolicy> = {
  LB_ROUNDROBIN: "round_robin",
  LB_RANDOM: "random",
  LB_WEIGHTED_ROUNDROBIN: "weighted_round_robin",
  LB_LEAST_REQUEST: "least_request",
  LB_MAGLEV: "maglev",
  LB_RINGHASH: "ring_hash",
  round_robin: "round_robin",
  random: "random",
  weighted_round_robin: "weighted_round_robin",
  least_request: "least_request",
  maglev: "maglev",
  ring_hash: "ring_hash",
};
// MOSN balancers we do not have, and the nearest one we use instead.
const LB_SUBSTITUTES: Record<string, LbPolicy> = { LB_LEAST_CONNECTION: "least_request", LB_PEAK_EWMA: "least_request" };

const DISCOVERY: Record<string, ClusterConfig["discovery"]> = { SIMPLE: "static", STRICT_DNS: "strict_dns", DNS_SRV: "dns_srv" };
/** Envoy's default dns_refresh_rate. */
const DEFAULT_DNS_REFRESH_MS = 5_000;
const DISCOVERY_AS_STATIC = new Set(["EDS", "DYNAMIC", "ORIGINAL_DST", "LOGICAL_DNS"]);

export function readCluster(r: Reader, value: unknown, path: string, baseDir: string): ClusterConfig | undefined {
  const c = r.object(value, path, FIELDS.cluster);
  if (c === undefined) return undefined;
  // MOSN's own examples spell it "Name" (Go's case-insensitive JSON); we accept both, not both at once.
  if (c["name"] !== undefined && c["Name"] !== undefined) r.error(keyPath(path, "Name"), 'give "name" or "Name", not both');
  const name = c["name"] !== undefined ? r.string(c, "name", path, true) : r.string(c, "Name", path, false);
  if (c["name"] === undefined && c["Name"] === undefined) r.error(keyPath(path, "name"), "required, expected a string");
  const nameProblem = name === undefined ? null : clusterNameProblem(name);
  if (nameProblem !== null) r.error(keyPath(path, c["name"] !== undefined ? "name" : "Name"), nameProblem);

  let discovery: ClusterConfig["discovery"] = "static";
  const type = r.string(c, "type", path, false);
  if (type !== undefined) {
    const t = type.toUpperCase();
    if (DISCOVERY[t] !== undefined) discovery = DISCOVERY[t];
    else if (DISCOVERY_AS_STATIC.has(t)) r.warn(keyPath(path, "type"), `cluster type ${type} is not supported; its hosts are used as a static list (SIMPLE)`);
    else r.error(keyPath(path, "type"), `expected "SIMPLE", "STRICT_DNS" or "DNS_SRV", got ${JSON.stringify(type)}`);
  }
  const dns = discovery === "static" ? null : readDns(r, c, path);
  if (discovery === "static") for (const k of ["dns_refresh_rate", "dns_resolvers"]) if (c[k] !== undefined) r.warn(keyPath(path, k), `only a STRICT_DNS or DNS_SRV cluster resolves names; ignored`);

  let lbType: LbPolicy = DEFAULTS.lbType;
  const lb = r.string(c, "lb_type", path, false);
  if (lb !== undefined) {
    const found = LB_NAMES[lb] ?? LB_NAMES[lb.toUpperCase()];
    if (found !== undefined) lbType = found;
    else if (LB_SUBSTITUTES[lb.toUpperCase()] !== undefined) {
      lbType = LB_SUBSTITUTES[lb.toUpperCase()]!;
      r.warn(keyPath(path, "lb_type"), `${lb} is not supported; ${lbType} is used instead`);
    } else {
      r.error(keyPath(path, "lb_type"), `expected one of ${Object.keys(LB_NAMES).join(", ")}, got ${JSON.stringify(lb)}`);
    }
  }

  const hosts: HostSpec[] = [];
  const hostList = r.array(c, "hosts", path) ?? [];
  if (hostList.length > MAX_HOSTS) r.error(keyPath(path, "hosts"), `at most ${MAX_HOSTS} hosts per cluster, got ${hostList.length}`);
  const seen = new Map<string, number>();
  hostList.forEach((h, i) => {
    const where = indexPath(keyPath(path, "hosts"), i);
    const host = readHost(r, h, where, discovery === "dns_srv");
    if (host === undefined) return;
    const before = seen.get(host.address);
    if (before !== undefined) r.error(keyPath(where, "address"), `duplicate host address ${host.address} (also hosts[${before}])`);
    seen.set(host.address, i);
    hosts.push(host);
  });

  let fallback: Fallback = "none";
  let defaultSubset: Record<string, string> = {};
  if (c["lb_subset_config"] !== undefined) {
    const where = keyPath(path, "lb_subset_config");
    const s = r.object(c["lb_subset_config"], where, FIELDS.lbSubsetConfig);
    if (s !== undefined) {
      if (s["fall_back_policy"] !== undefined) fallback = readFallback(r, s["fall_back_policy"], keyPath(where, "fall_back_policy")) ?? "none";
      if (s["default_subset"] !== undefined) defaultSubset = readTags(r, s["default_subset"], keyPath(where, "default_subset"));
      if (fallback === "default" && Object.keys(defaultSubset).length === 0) {
        r.warn(keyPath(where, "default_subset"), "fall_back_policy DefaultSubset with an empty default_subset uses every host, as Envoy does");
      }
    }
  }

  const connectTimeoutMs = r.duration(c, "connect_timeout", path) ?? DEFAULTS.connectTimeoutMs;
  let hashHeader: string | null = null;
  const hh = r.string(c, "hash_header", path, false);
  if (hh !== undefined) {
    if (!HTTP_TOKEN.test(hh)) r.error(keyPath(path, "hash_header"), `expected an HTTP header name, got ${JSON.stringify(hh)}`);
    hashHeader = hh.toLowerCase();
  }
  if ((lbType === "ring_hash" || lbType === "maglev") && hashHeader === null) {
    r.warn(keyPath(path, "hash_header"), `${lbType} without hash_header: every request hashes to the same key`);
  }
  const outlier = c["outlier_detection"] === undefined ? null : readOutlier(r, c["outlier_detection"], keyPath(path, "outlier_detection"));
  const healthCheck = c["health_check"] === undefined ? null : readHealthCheck(r, c["health_check"], keyPath(path, "health_check"));
  const circuitBreakers = c["circuit_breakers"] === undefined ? null : readCircuitBreakers(r, c["circuit_breakers"], keyPath(path, "circuit_breakers"));
  const tls = c["tls_context"] === undefined ? null : readClusterTls(r, c["tls_context"], keyPath(path, "tls_context"), baseDir);
  const http2 = c["http2_protocol_options"] !== undefined && r.object(c["http2_protocol_options"], keyPath(path, "http2_protocol_options"), FIELDS.http2ProtocolOptions) !== undefined;
  if (name === undefined) return undefined;
  return { name, where: path, discovery, dns, lbType, hosts, connectTimeoutMs, fallback, defaultSubset, hashHeader, outlier, healthCheck, circuitBreakers, tls, http2 };
}

/** Longest ejection accepted: the detector's bound (host/cluster/outlier.ts). */
const MAX_EJECTION_MS = 86_400_000;

/** Envoy's outlier_detection, the consecutive-failure part; what else Envoy has is warned about and ignored. */
function readOutlier(r: Reader, value: unknown, path: string): OutlierConfig | null {
  const o = r.object(value, path, FIELDS.outlierDetection);
  if (o === undefined) return null;
  const consecutiveFailures = r.number(o, "consecutive_5xx", path, CONSECUTIVE_5XX) ?? DEFAULTS.outlierConsecutive5xx;
  const base = r.duration(o, "base_ejection_time", path);
  const max = r.duration(o, "max_ejection_time", path);
  for (const [key, ms] of [["base_ejection_time", base], ["max_ejection_time", max]] as const) {
    if (ms !== undefined && (ms <= 0 || ms > MAX_EJECTION_MS)) r.error(keyPath(path, key), `expected a duration above 0 and at most 24h, got ${ms} ms`);
  }
  const baseEjectionMs = base ?? DEFAULTS.outlierBaseEjectionMs;
  // Envoy: max_ejection_time defaults to 300s, or to base_ejection_time when that is larger.
  const maxEjectionMs = max ?? Math.max(DEFAULTS.outlierMaxEjectionMs, baseEjectionMs);
  if (maxEjectionMs < baseEjectionMs) {
    r.error(keyPath(path, "max_ejection_time"), `${maxEjectionMs} ms is below base_ejection_time ${baseEjectionMs} ms`);
  }
  return { consecutiveFailures, baseEjectionMs, maxEjectionMs };
}

/** dns_refresh_rate (default 5s) and dns_resolvers ({"servers": ["ip" or "ip:port"], "port": 53}) of a DNS cluster. */
function readDns(r: Reader, c: Record<string, unknown>, path: string): DnsSettings {
  const refreshMs = r.duration(c, "dns_refresh_rate", path) ?? DEFAULT_DNS_REFRESH_MS;
  if (refreshMs < 100 || refreshMs > 86_400_000) r.error(keyPath(path, "dns_refresh_rate"), `expected a duration of 100ms to 24h, got ${refreshMs} ms`);
  const servers: string[] = [];
  if (c["dns_resolvers"] !== undefined) {
    const where = keyPath(path, "dns_resolvers");
    const d = r.object(c["dns_resolvers"], where, FIELDS.dnsResolvers);
    if (d !== undefined) {
      const portValue = d["port"];
      const port = portValue === undefined ? 53 : Number(portValue);
      if (!Number.isInteger(port) || port < 1 || port > 65535 || (typeof portValue !== "number" && typeof portValue !== "string" && portValue !== undefined)) {
        r.error(keyPath(where, "port"), `expected a port 1..65535, got ${JSON.stringify(portValue)}`);
      }
      (r.array(d, "servers", where) ?? []).forEach((s, i) => {
        const at = indexPath(keyPath(where, "servers"), i);
        if (typeof s !== "string") return r.error(at, "expected a string, an IP address or \"ip:port\"");
        const withPort = isIP(s) !== 0 ? (isIP(s) === 6 ? `[${s}]:${port}` : `${s}:${port}`) : s;
        const parsed = parseHostPort(withPort, false);
        if (typeof parsed === "string" || isIP(parsed.host) === 0) return r.error(at, `expected an IP address or "ip:port" of a DNS server, got ${JSON.stringify(s)}`);
        servers.push(withPort);
      });
    }
  }
  return { refreshMs, servers };
}

/** A host of the config; a DNS_SRV cluster's host address is an SRV name, with no port (the records give it). */
function readHost(r: Reader, value: unknown, path: string, srv = false): HostSpec | undefined {
  const h = r.object(value, path, FIELDS.host);
  if (h === undefined) return undefined;
  const address = r.string(h, "address", path, true);
  if (address !== undefined && srv) {
    if (address.includes(":") || !/^[A-Za-z0-9_.-]{1,253}$/.test(address)) r.error(keyPath(path, "address"), `a DNS_SRV host's address is an SRV name without a port, such as "_http._tcp.api.internal", got ${JSON.stringify(address)}`);
  } else if (address !== undefined) {
    const parsed = parseHostPort(address, false);
    if (typeof parsed === "string") r.error(keyPath(path, "address"), parsed);
  }
  const hostname = r.string(h, "hostname", path, false);
  const weight = r.number(h, "weight", path, HOST_WEIGHT) ?? 1;
  const tags = h["metadata"] === undefined ? {} : readTags(r, h["metadata"], keyPath(path, "metadata"));
  if (Object.keys(tags).length > MAX_TAGS_PER_HOST) r.error(keyPath(path, "metadata"), `at most ${MAX_TAGS_PER_HOST} tags per host`);
  if (address === undefined) return undefined;
  return hostname === undefined ? { address, weight, tags } : { address, hostname, weight, tags };
}

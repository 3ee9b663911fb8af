// Router configs (servers[].routers[] and inline connection_manager configs) → RouterConfig: virtual
// hosts, their domains, and each router entry's match and action.

import { FIELDS, numberRule } from "./fields.js";
import { readFallback, readTags } from "./metadata.js";
import { indexPath, keyPath, type Json, type Reader } from "./reader.js";
import { compileFullMatch } from "./regex.js";
import {
  DEFAULTS,
  type ClusterChoice, type ClusterConfig, type DirectResponse, type Fallback, type HeaderMatchConfig, type HeaderToAdd,
  type RetryPolicy, type RouteAction, type RouteConfig, type RouteMatchConfig, type RouterConfig, type VirtualHostConfig,
} from "./types.js";
import { GRPC_RETRY_NAMES } from "../util/grpc-codes.js";
import { HTTP_TOKEN } from "../util/http-token.js";

// Number bounds from the schema (host/config/fields.ts).
const DIRECT_STATUS = numberRule("directResponse", "status");
const CLUSTER_WEIGHT = numberRule("clusterWeight", "weight");
const NUM_RETRIES = numberRule("retryPolicy", "num_retries");
const RETRY_STATUS = numberRule("retryPolicy", "retry_on_statuses");
const RETRY_GRPC_STATUS = numberRule("retryPolicy", "retry_on_grpc_statuses");
const WAIT_MAX_COUNT = numberRule("wait", "max_count");

/** Reads `virtual_hosts` of a router config whose name is already read; `clusters` resolves cluster_name. */
export function readRouterConfig(r: Reader, name: string, obj: Json, path: string, clusters: ReadonlyMap<string, ClusterConfig>): RouterConfig {
  const virtualHosts: VirtualHostConfig[] = [];
  const list = r.array(obj, "virtual_hosts", path, true) ?? [];
  const vhostNames = new Map<string, string>();
  const domainOwner = new Map<string, string>();
  list.forEach((v, i) => {
    const where = indexPath(keyPath(path, "virtual_hosts"), i);
    const vh = readVirtualHost(r, v, where, clusters);
    if (vh === undefined) return;
    const before = vhostNames.get(vh.name);
    if (before !== undefined) r.error(keyPath(where, "name"), `duplicate virtual host name "${vh.name}" (also ${before})`);
    vhostNames.set(vh.name, where);
    vh.domains.forEach((d, j) => {
      // Envoy refuses a domain in two virtual hosts: which one wins would depend on order.
      const owner = domainOwner.get(d);
      if (owner !== undefined) r.error(indexPath(keyPath(where, "domains"), j), `domain "${d}" is already served by ${owner}`);
      domainOwner.set(d, where);
    });
    virtualHosts.push(vh);
  });
  // A route's name is its label in metrics and logs: two routes of one router config may not share one.
  const routeNames = new Map<string, string>();
  for (const vh of virtualHosts) {
    for (const route of vh.routes) {
      if (route.label === route.where) continue;
      const before = routeNames.get(route.label);
      if (before !== undefined) r.error(keyPath(route.where, "name"), `duplicate route name "${route.label}" (also ${before})`);
      else routeNames.set(route.label, route.where);
    }
  }
  return { name, where: path, virtualHosts };
}

function readVirtualHost(r: Reader, value: unknown, path: string, clusters: ReadonlyMap<string, ClusterConfig>): VirtualHostConfig | undefined {
  const v = r.object(value, path, FIELDS.virtualHost);
  if (v === undefined) return undefined;
  const name = r.string(v, "name", path, false) ?? path;
  const domains: string[] = [];
  const list = r.array(v, "domains", path, true) ?? [];
  if (list.length === 0 && Array.isArray(v["domains"])) r.error(keyPath(path, "domains"), 'expected at least one domain (use "*" for any)');
  list.forEach((d, i) => {
    const where = indexPath(keyPath(path, "domains"), i);
    const domain = readDomain(r, d, where);
    if (domain === undefined) return;
    if (domains.includes(domain)) r.error(where, `duplicate domain "${domain}"`);
    else domains.push(domain);
  });
  const routes: RouteConfig[] = [];
  (r.array(v, "routers", path, true) ?? []).forEach((e, i) => {
    const route = readRouter(r, e, indexPath(keyPath(path, "routers"), i), clusters);
    if (route !== undefined) routes.push(route);
  });
  return { name, where: path, domains, routes };
}

function readDomain(r: Reader, value: unknown, path: string): string | undefined {
  if (typeof value !== "string" || value === "") return r.error(path, `expected a domain such as "example.com", "*.example.com" or "*", got ${JSON.stringify(value)}`);
  let domain = value.toLowerCase();
  const port = /:\d+$/.exec(domain);
  if (port !== null && !domain.endsWith("]")) {
    // The Host header is matched without its port, so a port here could never match as written.
    r.warn(path, `the port is ignored: domains match the Host header without its port ("${domain.slice(0, port.index)}")`);
    domain = domain.slice(0, port.index);
  }
  const star = domain.indexOf("*");
  if (star > 0 || (star === 0 && domain.indexOf("*", 1) >= 0)) {
    return r.error(path, `a wildcard is allowed only as the first character ("*.example.com" or "*"), got ${JSON.stringify(value)}`);
  }
  if (/[\s/?#@]/.test(domain)) return r.error(path, `expected a host name, got ${JSON.stringify(value)}`);
  return domain;
}

function readRouter(r: Reader, value: unknown, path: string, clusters: ReadonlyMap<string, ClusterConfig>): RouteConfig | undefined {
  const e = r.object(value, path, FIELDS.router);
  if (e === undefined) return undefined;
  const match = readMatch(r, e["match"], keyPath(path, "match"));
  const hasRoute = e["route"] !== undefined;
  const hasDirect = e["direct_response"] !== undefined;
  if (hasRoute && hasDirect) {
    r.error(path, 'give either "route" or "direct_response", not both');
    return undefined;
  }
  if (!hasRoute && !hasDirect) {
    if ("redirect" in e) {
      // A MOSN redirect entry: the config still loads, the entry does not take part in routing.
      r.warn(path, "redirect routes are not supported; this router entry is skipped");
      return undefined;
    }
    r.error(path, 'expected "route" or "direct_response"');
    return undefined;
  }
  const action = hasRoute ? readAction(r, e["route"], keyPath(path, "route"), clusters) : readDirect(r, e["direct_response"], keyPath(path, "direct_response"));
  if (match === undefined || action === undefined) return undefined;
  if (match.regex !== null && action.kind === "route" && action.prefixRewrite !== null) {
    // MOSN has no matched prefix to replace on a regex route and forwards the path as it came: loaded as
    // MOSN would, but said, so that a rewrite that does nothing is not a surprise found in production.
    r.warn(keyPath(keyPath(path, "route"), "prefix_rewrite"), "has no effect on a regex route (no matched prefix to replace); the path is forwarded unchanged");
  }
  const name = r.string(e, "name", path, false);
  if (name !== undefined && name.length === 0) r.error(keyPath(path, "name"), "expected a non-empty name");
  return { where: path, label: name !== undefined && name.length > 0 ? name : path, match, action };
}

function readMatch(r: Reader, value: unknown, path: string): RouteMatchConfig | undefined {
  if (value === undefined) return r.error(path, 'required, expected an object such as {"prefix": "/"}');
  const m = r.object(value, path, FIELDS.match);
  if (m === undefined) return undefined;
  const prefix = r.string(m, "prefix", path, false) ?? null;
  const exact = r.string(m, "path", path, false) ?? null;
  const regex = r.string(m, "regex", path, false) ?? null;
  const given = [prefix !== null && "prefix", exact !== null && "path", regex !== null && "regex"].filter(Boolean);
  if (given.length > 1) r.error(path, `give one of "prefix", "path", "regex", not ${given.join(" and ")}`);
  if (exact !== null && !exact.startsWith("/")) r.error(keyPath(path, "path"), `expected a path starting with "/", got ${JSON.stringify(exact)}`);
  if (regex !== null) {
    const compiled = compileFullMatch(regex);
    if (typeof compiled === "string") r.error(keyPath(path, "regex"), compiled);
  }
  const headers: HeaderMatchConfig[] = [];
  (r.array(m, "headers", path) ?? []).forEach((h, i) => {
    const where = indexPath(keyPath(path, "headers"), i);
    const o = r.object(h, where, FIELDS.headerMatcher);
    if (o === undefined) return;
    const name = r.string(o, "name", where, true);
    if (name !== undefined && !HTTP_TOKEN.test(name)) r.error(keyPath(where, "name"), `expected an HTTP header name, got ${JSON.stringify(name)}`);
    const v = r.string(o, "value", where, true);
    const isRegex = r.boolean(o, "regex", where) ?? false;
    if (isRegex && v !== undefined) {
      const compiled = compileFullMatch(v);
      if (typeof compiled === "string") r.error(keyPath(where, "value"), compiled);
    }
    if (name !== undefined && v !== undefined) headers.push({ name: name.toLowerCase(), value: v, regex: isRegex });
  });
  return { prefix, path: exact, regex, headers };
}

function readDirect(r: Reader, value: unknown, path: string): DirectResponse | undefined {
  const d = r.object(value, path, FIELDS.directResponse);
  if (d === undefined) return undefined;
  const status = r.number(d, "status", path, DIRECT_STATUS, true);
  const body = r.string(d, "body", path, false) ?? "";
  return status === undefined ? undefined : { kind: "direct", status, body };
}

function readAction(r: Reader, value: unknown, path: string, clusters: ReadonlyMap<string, ClusterConfig>): RouteAction | undefined {
  const a = r.object(value, path, FIELDS.route);
  if (a === undefined) return undefined;
  const ext = readRouteExtension(r, a["switchyard"], keyPath(path, "switchyard"));
  const routeTags = a["metadata_match"] === undefined ? {} : readTags(r, a["metadata_match"], keyPath(path, "metadata_match"));

  const choices: ClusterChoice[] = [];
  const choose = (name: string, weight: number, tags: Record<string, string>, where: string): void => {
    const cluster = clusters.get(name);
    if (cluster === undefined) {
      const known = [...clusters.keys()];
      r.error(where, `unknown cluster "${name}"${known.length ? ` (clusters: ${known.join(", ")})` : " (cluster_manager has no clusters)"}`);
      return;
    }
    const fallback: Fallback = ext.fallback ?? cluster.fallback;
    choices.push({ name, weight, metadataMatch: { ...routeTags, ...tags }, fallback });
  };
  const clusterName = r.string(a, "cluster_name", path, false);
  const weighted = r.array(a, "weighted_clusters", path);
  if (clusterName !== undefined && weighted !== undefined && weighted.length > 0) {
    r.error(path, 'give either "cluster_name" or "weighted_clusters", not both');
  } else if (clusterName !== undefined) {
    if (clusterName === "") r.error(keyPath(path, "cluster_name"), "expected a non-empty cluster name");
    else choose(clusterName, 1, {}, keyPath(path, "cluster_name"));
  } else if (weighted !== undefined && weighted.length > 0) {
    let zeroWeights = 0;
    weighted.forEach((w, i) => {
      const where = indexPath(keyPath(path, "weighted_clusters"), i);
      const o = r.object(w, where, FIELDS.weightedCluster);
      const inner = o === undefined ? undefined : r.object(o["cluster"], keyPath(where, "cluster"), FIELDS.clusterWeight);
      if (inner === undefined) return;
      const cw = keyPath(where, "cluster");
      const name = r.string(inner, "name", cw, true);
      const weight = r.number(inner, "weight", cw, CLUSTER_WEIGHT, true);
      const tags = inner["metadata_match"] === undefined ? {} : readTags(r, inner["metadata_match"], keyPath(cw, "metadata_match"));
      if (weight === 0) zeroWeights++;
      if (name !== undefined && weight !== undefined && weight > 0) choose(name, weight, tags, keyPath(cw, "name"));
    });
    if (zeroWeights === weighted.length) {
      r.error(keyPath(path, "weighted_clusters"), "every weight is 0: at least one cluster needs a positive weight");
    }
  } else {
    r.error(path, 'expected "cluster_name" or a non-empty "weighted_clusters"');
  }

  const timeoutMs = r.duration(a, "timeout", path) ?? DEFAULTS.routeTimeoutMs;
  const retry = readRetry(r, a["retry_policy"], keyPath(path, "retry_policy"));
  const prefixRewrite = r.string(a, "prefix_rewrite", path, false) ?? null;
  const hostRewrite = r.string(a, "host_rewrite", path, false) ?? null;
  if (hostRewrite === "") r.error(keyPath(path, "host_rewrite"), "expected a non-empty host");
  const requestHeadersToAdd: HeaderToAdd[] = [];
  (r.array(a, "request_headers_to_add", path) ?? []).forEach((h, i) => {
    const where = indexPath(keyPath(path, "request_headers_to_add"), i);
    const o = r.object(h, where, FIELDS.headerToAdd);
    if (o === undefined) return;
    const header = r.object(o["header"], keyPath(where, "header"), FIELDS.headerValue);
    const append = r.boolean(o, "append", where) ?? true;
    if (header === undefined) return;
    const key = r.string(header, "key", keyPath(where, "header"), true);
    const v = r.string(header, "value", keyPath(where, "header"), true);
    if (key !== undefined && !HTTP_TOKEN.test(key)) r.error(keyPath(keyPath(where, "header"), "key"), `expected an HTTP header name, got ${JSON.stringify(key)}`);
    if (key !== undefined && v !== undefined) requestHeadersToAdd.push({ name: key.toLowerCase(), value: v, append });
  });
  const totalWeight = choices.reduce((sum, c) => sum + c.weight, 0);
  if (choices.length === 0) return undefined;
  return {
    kind: "route", clusters: choices, totalWeight, timeoutMs, retry, prefixRewrite, hostRewrite, requestHeadersToAdd,
    plugins: ext.plugins, optionalPlugins: ext.optionalPlugins, waitMaxCount: ext.waitMaxCount, failFast: ext.failFast,
  };
}

const NO_RETRY: RetryPolicy = { numRetries: 0, perTryTimeoutMs: null, retryOnStatuses: [], retryOnGrpcStatuses: [] };

/**
 * retry_on_grpc_statuses: a gRPC code 1..16, or its name as Envoy's retry_on writes the gRPC ones
 * ("unavailable", "resource-exhausted", …: the code's name in lowercase with dashes).
 */
function grpcRetryCode(r: Reader, value: unknown, where: string): number | undefined {
  if (typeof value === "string") {
    const code = GRPC_RETRY_NAMES.indexOf(value) + 1;
    if (code > 0) return code;
    return r.error(where, `expected a gRPC status code 1..16 or one of ${GRPC_RETRY_NAMES.map((n) => `"${n}"`).join(", ")}, got ${JSON.stringify(value)}`);
  }
  return r.numberValue(value, where, RETRY_GRPC_STATUS);
}

function readRetry(r: Reader, value: unknown, path: string): RetryPolicy {
  if (value === undefined) return NO_RETRY;
  const o = r.object(value, path, FIELDS.retryPolicy);
  if (o === undefined) return NO_RETRY;
  const on = r.boolean(o, "retry_on", path);
  const perTry = r.duration(o, "retry_timeout", path);
  const num = r.number(o, "num_retries", path, NUM_RETRIES);
  const statusList = r.array(o, "retry_on_statuses", path);
  const statuses: number[] = [];
  statusList?.forEach((s, i) => {
    const st = r.numberValue(s, indexPath(keyPath(path, "retry_on_statuses"), i), RETRY_STATUS);
    if (st !== undefined && !statuses.includes(st)) statuses.push(st);
  });
  const grpcList = r.array(o, "retry_on_grpc_statuses", path);
  const grpcCodes: number[] = [];
  grpcList?.forEach((s, i) => {
    const code = grpcRetryCode(r, s, indexPath(keyPath(path, "retry_on_grpc_statuses"), i));
    if (code !== undefined && !grpcCodes.includes(code)) grpcCodes.push(code);
  });
  // MOSN's switch is retry_on; a policy with it off (or absent) retries nothing.
  if (on !== true) return NO_RETRY;
  return {
    numRetries: num ?? DEFAULTS.numRetriesWhenOn,
    perTryTimeoutMs: perTry === undefined || perTry === 0 ? null : perTry,
    retryOnStatuses: statusList === undefined ? DEFAULTS.retryOnStatuses : statuses,
    retryOnGrpcStatuses: grpcList === undefined ? DEFAULTS.retryOnGrpcStatuses : grpcCodes,
  };
}

interface RouteExtension {
  plugins: string[] | null;
  optionalPlugins: string[];
  fallback: Fallback | undefined;
  waitMaxCount: number;
  failFast: boolean;
}

function readRouteExtension(r: Reader, value: unknown, path: string): RouteExtension {
  const out: RouteExtension = { plugins: null, optionalPlugins: [], fallback: undefined, waitMaxCount: DEFAULTS.waitMaxCount, failFast: false };
  if (value === undefined) return out;
  const o = r.object(value, path, FIELDS.routeSwitchyard);
  if (o === undefined) return out;
  const list = r.array(o, "plugins", path);
  if (list !== undefined) {
    out.plugins = [];
    list.forEach((p, i) => {
      const where = indexPath(keyPath(path, "plugins"), i);
      if (typeof p !== "string" || p === "") r.error(where, `expected a plugin name, got ${JSON.stringify(p)}`);
      else if (out.plugins!.includes(p)) r.error(where, `plugin "${p}" is listed twice`);
      else out.plugins!.push(p);
    });
  }
  const optional = r.array(o, "optional_plugins", path);
  optional?.forEach((p, i) => {
    const where = indexPath(keyPath(path, "optional_plugins"), i);
    if (typeof p !== "string" || p === "") r.error(where, `expected a plugin name, got ${JSON.stringify(p)}`);
    else if (out.plugins === null || !out.plugins.includes(p)) r.error(where, `plugin "${p}" is not in this route's "plugins"`);
    else if (!out.optionalPlugins.includes(p)) out.optionalPlugins.push(p);
  });
  if (o["fallback"] !== undefined) {
    const f = o["fallback"];
    if (f === "none" || f === "any" || f === "default") out.fallback = f;
    else out.fallback = readFallback(r, f, keyPath(path, "fallback"));
  }
  if (o["wait"] !== undefined) {
    const w = r.object(o["wait"], keyPath(path, "wait"), FIELDS.wait);
    if (w !== undefined) out.waitMaxCount = r.number(w, "max_count", keyPath(path, "wait"), WAIT_MAX_COUNT) ?? DEFAULTS.waitMaxCount;
  }
  out.failFast = r.boolean(o, "fail_fast", path) ?? false;
  return out;
}

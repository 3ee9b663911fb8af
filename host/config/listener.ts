// servers[].listeners[] → ListenerConfig. A MOSN listener names its router config in a `proxy` filter; a
// `connection_manager` filter carries a router config inline (and names it, so a proxy filter of the same
// chain, or the listener itself, can use it).

import { parseHostPort } from "./address.js";
import { FIELDS } from "./fields.js";
import { readHttp1Codec, readListenerLimits } from "./listener-limits.js";
import { isDeepStrictEqual } from "node:util";
import { describe } from "./duration.js";
import { indexPath, keyPath, type Json, type Reader } from "./reader.js";
import { readListenerTls, type ListenerTls } from "./tls.js";
import type { DownstreamProtocol, ListenerConfig } from "./types.js";

const DOWNSTREAM: Record<string, DownstreamProtocol> = { http1: "http1", http2: "http2", auto: "auto" };

/** An inline router config found in a connection_manager filter, to be read with the others. */
export interface InlineRouterConfig {
  readonly name: string;
  readonly obj: Json;
  readonly path: string;
}

export function readListener(r: Reader, value: unknown, path: string, inline: InlineRouterConfig[], baseDir: string): Omit<ListenerConfig, "routerConfigName"> & { routerConfigName: string | undefined } | undefined {
  const l = r.object(value, path, FIELDS.listener);
  if (l === undefined) return undefined;
  const address = r.string(l, "address", path, true);
  let host = "";
  let port = 0;
  if (address !== undefined) {
    const parsed = parseHostPort(address, true);
    if (typeof parsed === "string") r.error(keyPath(path, "address"), parsed);
    else ({ host, port } = parsed);
  }
  const name = r.string(l, "name", path, false) ?? address ?? path;

  let proxyName: string | undefined;
  let proxyWhere = "";
  let inlineName: string | undefined;
  let downstreamProtocol: DownstreamProtocol = "http1";
  let upstreamProtocol: DownstreamProtocol = "http1";
  let tlsContexts: ListenerTls[] = [];
  let tlsWhere = "";
  const chains = r.array(l, "filter_chains", path, true) ?? [];
  chains.forEach((chain, ci) => {
    const chainPath = indexPath(keyPath(path, "filter_chains"), ci);
    const ch = r.object(chain, chainPath, FIELDS.filterChain);
    if (ch === undefined) return;
    for (const field of ["tls_context", "tls_context_set"] as const) {
      if (ch[field] === undefined) continue;
      const where = keyPath(chainPath, field);
      // One listener, one TLS setting: several certificates are one tls_context_set, chosen by SNI (host/server/sni.ts).
      if (tlsWhere !== "") r.error(where, `a listener has one tls_context or tls_context_set; another is at ${tlsWhere}`);
      else {
        tlsWhere = where;
        tlsContexts = field === "tls_context" ? [readListenerTls(r, ch[field], where, baseDir)].filter((t) => t !== null) : readTlsContextSet(r, ch[field], where, baseDir);
      }
    }
    (r.array(ch, "filters", chainPath, true) ?? []).forEach((f, fi) => {
      const where = indexPath(keyPath(chainPath, "filters"), fi);
      const filter = r.object(f, where, FIELDS.filter);
      if (filter === undefined) return;
      const type = r.string(filter, "type", where, true);
      const configPath = keyPath(where, "config");
      if (type === "proxy") {
        if (proxyName !== undefined) {
          r.error(where, `a listener has one proxy filter; another is at ${proxyWhere}`);
          return;
        }
        const c = r.object(filter["config"], configPath, FIELDS.proxyConfig);
        if (c === undefined) return;
        proxyWhere = where;
        proxyName = r.string(c, "router_config_name", configPath, true) ?? "";
        const down = r.string(c, "downstream_protocol", configPath, false);
        if (down !== undefined) {
          const p = DOWNSTREAM[down.toLowerCase()];
          if (p === undefined) r.error(keyPath(configPath, "downstream_protocol"), `expected "Http1", "Http2" or "Auto", got ${JSON.stringify(down)}`);
          else downstreamProtocol = p;
        }
        const up = r.string(c, "upstream_protocol", configPath, false);
        if (up !== undefined) {
          const p = DOWNSTREAM[up.toLowerCase()];
          if (p === undefined) r.warn(keyPath(configPath, "upstream_protocol"), `upstream protocol ${up} is not supported; HTTP/1.1 is used ("Http1", "Http2" and "Auto" are)`);
          else upstreamProtocol = p;
        }
      } else if (type === "connection_manager") {
        const c = r.object(filter["config"], configPath, FIELDS.connectionManagerConfig);
        if (c === undefined) return;
        const rcName = r.string(c, "router_config_name", configPath, true);
        if (rcName === undefined) return;
        if (inlineName !== undefined) r.error(where, "a listener has one connection_manager filter");
        inlineName ??= rcName;
        inline.push({ name: rcName, obj: c, path: configPath });
      } else if (type !== undefined) {
        r.warn(keyPath(where, "type"), `filter type "${type}" is not supported; ignored (Switchyard proxies HTTP with "proxy")`);
      }
    });
  });
  const routerConfigName = proxyName ?? inlineName;
  if (routerConfigName === undefined && Array.isArray(l["filter_chains"])) {
    r.error(keyPath(path, "filter_chains"), 'expected a "proxy" filter with config.router_config_name, or a "connection_manager" filter');
  }
  const limits = readListenerLimits(r, l["switchyard"], keyPath(path, "switchyard"));
  const http1Codec = readHttp1Codec(r, l["switchyard"], keyPath(path, "switchyard"));
  return { name, where: path, address: address ?? "", host, port, downstreamProtocol, upstreamProtocol, routerConfigName, limits, tls: tlsContexts[0] ?? null, tlsContexts, http1Codec };
}

/**
 * MOSN's tls_context_set: contexts whose status is false are skipped, as MOSN skips them. A listener asks for
 * client certificates before the client's SNI picks a context, so client authentication must be the same in all.
 */
function readTlsContextSet(r: Reader, value: unknown, path: string, baseDir: string): ListenerTls[] {
  if (!Array.isArray(value)) {
    r.error(path, `expected an array of tls_context objects, got ${describe(value)}`);
    return [];
  }
  if (value.length === 0) r.error(path, "expected at least one tls_context");
  const out: ListenerTls[] = [];
  const named = new Map<string, string>();
  value.forEach((v, i) => {
    const where = indexPath(path, i);
    const t = readListenerTls(r, v, where, baseDir, true);
    if (t === null) return;
    if (t.serverName !== null) {
      const other = named.get(t.serverName);
      if (other !== undefined) r.error(keyPath(where, "server_name"), `"${t.serverName}" is already the server_name of ${other}: a name picks one certificate`);
      else named.set(t.serverName, where);
    }
    const first = out[0];
    if (first !== undefined && (first.clientAuth !== t.clientAuth || !isDeepStrictEqual(first.clientCa, t.clientCa))) {
      r.error(where, `verify_client, require_client_cert and ca_cert must be the same in every context of a tls_context_set (they differ from ${first.where}): client certificates are asked for before the SNI picks a context`);
    }
    out.push(t);
  });
  return out;
}

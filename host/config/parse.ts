// parseConfig: MOSN v2 JSON text → a checked, normalized, deep-frozen Config, or one ConfigError listing
// every problem with its JSON path. Unsupported MOSN fields are warnings, so a MOSN config loads unchanged.

import { dirname, resolve } from "node:path";
import { parseHostPort } from "./address.js";
import { readCluster } from "./cluster.js";
import { ConfigError } from "./errors.js";
import { FIELDS, numberRule } from "./fields.js";
import { deepFreeze } from "./freeze.js";
import { parseJsonText } from "./json.js";
import { readListener, type InlineRouterConfig } from "./listener.js";
import { indexPath, keyPath, Reader, type Json } from "./reader.js";
import { readRouterConfig } from "./route.js";
import {
  DEFAULTS, LOG_LEVELS,
  type AdminConfig, type ClusterConfig, type Config, type ConfigWarning, type ListenerConfig, type LogLevel, type RouterConfig, type SwitchyardSettings,
} from "./types.js";

// Number bounds from the schema (host/config/fields.ts).
const ADMIN_PORT = numberRule("socketAddress", "port_value");

export interface ParseOptions {
  /** Folder that relative paths (the `switchyard` block, tls_context files) are resolved against; default: the source's folder. */
  readonly baseDir?: string;
}

export interface ParsedConfig {
  readonly config: Config;
  readonly warnings: readonly ConfigWarning[];
}

/**
 * Check and normalize a config.
 *
 * @example
 * const { config, warnings } = parseConfig(readFileSync("switchyard.json", "utf8"), "switchyard.json");
 * for (const w of warnings) log.warn(`${w.path}: ${w.message}`);
 * @throws ConfigError (E_CONFIG_INVALID) with every problem found.
 */
export function parseConfig(text: string, source: string, options: ParseOptions = {}): ParsedConfig {
  const doc = parseJsonText(text, source);
  const r = new Reader();
  const config = readDocument(r, doc, source, options.baseDir ?? dirname(resolve(source)));
  if (r.problems.length > 0 || config === undefined) {
    throw new ConfigError("E_CONFIG_INVALID", source, r.problems.length > 0 ? r.problems : [{ path: "", message: "config could not be read" }]);
  }
  return { config: deepFreeze(config), warnings: Object.freeze(r.warnings.slice()) };
}

function readDocument(r: Reader, doc: unknown, source: string, baseDir: string): Config | undefined {
  const root = r.object(doc, "", FIELDS.root);
  if (root === undefined) return undefined;

  // Clusters first: routes resolve cluster_name against them, and take their default fallback from them.
  const clusters: ClusterConfig[] = [];
  const clusterByName = new Map<string, ClusterConfig>();
  const cm = root["cluster_manager"] === undefined ? undefined : r.object(root["cluster_manager"], "cluster_manager", FIELDS.clusterManager);
  (cm === undefined ? [] : r.array(cm, "clusters", "cluster_manager") ?? []).forEach((c, i) => {
    const cluster = readCluster(r, c, indexPath("cluster_manager.clusters", i), baseDir);
    if (cluster === undefined) return;
    const before = clusterByName.get(cluster.name);
    if (before !== undefined) r.error(keyPath(cluster.where, "name"), `duplicate cluster name "${cluster.name}" (also ${before.where})`);
    else clusterByName.set(cluster.name, cluster);
    clusters.push(cluster);
  });

  const routerSources: InlineRouterConfig[] = [];
  const listeners: (Omit<ListenerConfig, "routerConfigName"> & { routerConfigName: string | undefined })[] = [];
  const servers = r.array(root, "servers", "", true) ?? [];
  if (Array.isArray(root["servers"]) && servers.length === 0) r.error("servers", "expected at least one server");
  servers.forEach((s, si) => {
    const sp = indexPath("servers", si);
    const server = r.object(s, sp, FIELDS.server);
    if (server === undefined) return;
    (r.array(server, "routers", sp) ?? []).forEach((rc, i) => {
      const where = indexPath(keyPath(sp, "routers"), i);
      const o = r.object(rc, where, FIELDS.routerConfig);
      const name = o === undefined ? undefined : r.string(o, "router_config_name", where, true);
      if (o !== undefined && name !== undefined) routerSources.push({ name, obj: o, path: where });
    });
    (r.array(server, "listeners", sp, true) ?? []).forEach((l, i) => {
      const listener = readListener(r, l, indexPath(keyPath(sp, "listeners"), i), routerSources, baseDir);
      if (listener !== undefined) listeners.push(listener);
    });
  });

  const routerConfigs: RouterConfig[] = [];
  const routerByName = new Map<string, RouterConfig>();
  for (const src of routerSources) {
    const rc = readRouterConfig(r, src.name, src.obj, src.path, clusterByName);
    const before = routerByName.get(rc.name);
    if (before !== undefined) r.error(keyPath(src.path, "router_config_name"), `duplicate router_config_name "${rc.name}" (also ${before.where})`);
    else routerByName.set(rc.name, rc);
    routerConfigs.push(rc);
  }

  const done: ListenerConfig[] = [];
  const names = new Map<string, string>();
  const addresses = new Map<string, string>();
  for (const l of listeners) {
    const dupName = names.get(l.name);
    if (dupName !== undefined) r.error(keyPath(l.where, "name"), `duplicate listener name "${l.name}" (also ${dupName})`);
    names.set(l.name, l.where);
    // Port 0 asks the OS for a free port each time, so two such listeners do not collide.
    if (l.port !== 0 && l.address !== "") {
      const key = `${l.host.toLowerCase()}:${l.port}`;
      const dup = addresses.get(key);
      if (dup !== undefined) r.error(keyPath(l.where, "address"), `duplicate listener address ${l.address} (also ${dup})`);
      addresses.set(key, l.where);
    }
    if (l.routerConfigName === undefined) continue;
    if (l.routerConfigName !== "" && !routerByName.has(l.routerConfigName)) {
      const known = [...routerByName.keys()];
      r.error(keyPath(l.where, "filter_chains"), `unknown router_config_name "${l.routerConfigName}"${known.length ? ` (router configs: ${known.join(", ")})` : " (no servers[].routers nor connection_manager defines one)"}`);
    }
    done.push({ ...l, routerConfigName: l.routerConfigName });
  }

  const admin = readAdmin(r, root["admin"]);
  const switchyard = readSwitchyard(r, root["switchyard"], baseDir);
  if (admin === undefined) return undefined;
  return { source, listeners: done, routerConfigs, clusters, admin, switchyard };
}

function readAdmin(r: Reader, value: unknown): AdminConfig | undefined {
  if (value === undefined) return adminFrom(r, DEFAULTS.adminAddress, "admin");
  const a = r.object(value, "admin", FIELDS.admin);
  if (a === undefined) return undefined;
  const address = a["address"];
  if (address === undefined) return adminFrom(r, DEFAULTS.adminAddress, "admin");
  if (typeof address === "string") return adminFrom(r, address, "admin.address");
  // MOSN: {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 34901}}}
  const o = r.object(address, "admin.address", FIELDS.adminAddress);
  const sa = o === undefined ? undefined : r.object(o["socket_address"], "admin.address.socket_address", FIELDS.socketAddress);
  if (sa === undefined) return undefined;
  const host = r.string(sa, "address", "admin.address.socket_address", true);
  const port = r.number(sa, "port_value", "admin.address.socket_address", ADMIN_PORT, true);
  if (host === undefined || port === undefined) return undefined;
  return { address: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`, host, port };
}

function adminFrom(r: Reader, address: string, path: string): AdminConfig | undefined {
  const parsed = parseHostPort(address, true);
  if (typeof parsed === "string") return r.error(path, parsed);
  return { address, host: parsed.host, port: parsed.port };
}

function readSignatures(r: Reader, value: unknown, baseDir: string): { trustedKeys: string[]; required: boolean } {
  const out = { trustedKeys: [] as string[], required: false };
  const path = "switchyard.signatures";
  const s = r.object(value, path, FIELDS.signatures);
  if (s === undefined) return out;
  const keys = r.array(s, "trusted_keys", path) ?? [];
  keys.forEach((k, i) => {
    if (typeof k !== "string" || k === "") r.error(`${path}.trusted_keys[${i}]`, "expected a non-empty path of a public key file");
    else out.trustedKeys.push(resolve(baseDir, k));
  });
  out.required = r.boolean(s, "required", path) ?? false;
  if (out.required && keys.length === 0) r.error(`${path}.required`, "true needs trusted_keys: no bundle could load");
  return out;
}

function readSwitchyard(r: Reader, value: unknown, baseDir: string): SwitchyardSettings {
  const out = { pluginsDir: null as string | null, stateDir: null as string | null, adminTokenFile: null as string | null, logLevel: DEFAULTS.logLevel, signatures: { trustedKeys: [] as string[], required: false }, accessLog: null as string | null, upstreamClient: "llhttp" as "undici" | "llhttp" };
  if (value === undefined) return out;
  const s: Json | undefined = r.object(value, "switchyard", FIELDS.switchyard);
  if (s === undefined) return out;
  const dir = (key: string): string | null => {
    const v = r.string(s, key, "switchyard", false);
    if (v === "") r.error(keyPath("switchyard", key), "expected a non-empty path");
    return v ? resolve(baseDir, v) : null;
  };
  out.pluginsDir = dir("plugins_dir");
  out.stateDir = dir("state_dir");
  out.adminTokenFile = dir("admin_token_file");
  const access = r.string(s, "access_log", "switchyard", false);
  if (access === "") r.error("switchyard.access_log", 'expected "stdout" or a file path');
  else if (access !== undefined) out.accessLog = access === "stdout" ? "stdout" : resolve(baseDir, access);
  const client = r.string(s, "upstream_client", "switchyard", false);
  if (client === "undici" || client === "llhttp") out.upstreamClient = client;
  else if (client !== undefined) r.error("switchyard.upstream_client", `expected "undici" or "llhttp", got ${JSON.stringify(client)}`);
  if (s.signatures !== undefined) out.signatures = readSignatures(r, s.signatures, baseDir);
  const level = r.string(s, "log_level", "switchyard", false);
  if (level !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(level)) out.logLevel = level as LogLevel;
    else r.error("switchyard.log_level", `expected one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(level)}`);
  }
  return out;
}

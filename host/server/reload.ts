// Reloading the main config file (SIGHUP, --watch-config): what a new Config may change while the host runs,
// and what the last reload came to (GET /config, the switchyard_config_* metrics). The swap itself is
// SwitchyardHost.reload (host/server/host.ts): validate, build aside, then swap, as a plugin push does.

import { SwitchyardError } from "../util/coded-error.js";
import { isDeepStrictEqual } from "node:util";
import type { Config, ListenerConfig } from "../config/types.js";

/** Why a reload changed nothing. */
export class ReloadRefused extends SwitchyardError {
  constructor(code: string, message: string, readonly path: string | null = null, options?: ErrorOptions) {
    super(code, message, options);
  }
}

export interface ReloadOutcome {
  readonly ok: boolean;
  /** When the reload was decided (wall clock, ISO 8601). */
  readonly at: string;
  readonly source: string;
  /** The config generation serving after it: 1 at start, +1 per applied reload. */
  readonly generation: number;
  readonly error?: { readonly code: string; readonly message: string; readonly path: string | null };
  readonly listeners?: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly replaced: readonly string[] };
  readonly clusters?: { readonly added: readonly string[]; readonly removed: readonly string[] };
}

/** What GET /config answers. */
export interface ConfigStatus {
  readonly source: string;
  readonly generation: number;
  readonly loadedAt: string;
  readonly reloads: { readonly applied: number; readonly refused: number };
  readonly lastReload: ReloadOutcome | null;
}

/** Which settings the host reads once, with the path a refusal names. Paths given on the command line win over the file's. */
export function restartOnlyChange(current: Config, next: Config, overridden: { pluginsDir: boolean; stateDir: boolean }): ReloadRefused | null {
  const fields: [string, unknown, unknown][] = [
    ["admin.address", `${current.admin.host}:${current.admin.port}`, `${next.admin.host}:${next.admin.port}`],
    ["switchyard.admin_token_file", current.switchyard.adminTokenFile, next.switchyard.adminTokenFile],
    ["switchyard.signatures", current.switchyard.signatures, next.switchyard.signatures],
    ["switchyard.access_log", current.switchyard.accessLog, next.switchyard.accessLog],
    // The pools are made at start, of one client.
    ["switchyard.upstream_client", current.switchyard.upstreamClient, next.switchyard.upstreamClient],
    // The logger and its children are made at start, each with its own copy of the level.
    ["switchyard.log_level", current.switchyard.logLevel, next.switchyard.logLevel],
  ];
  if (!overridden.pluginsDir) fields.push(["switchyard.plugins_dir", current.switchyard.pluginsDir, next.switchyard.pluginsDir]);
  if (!overridden.stateDir) fields.push(["switchyard.state_dir", current.switchyard.stateDir, next.switchyard.stateDir]);
  for (const [path, a, b] of fields) {
    if (!isDeepStrictEqual(a, b)) return new ReloadRefused("E_RELOAD_RESTART_REQUIRED", `${path} changed (${JSON.stringify(a)} → ${JSON.stringify(b)}): it is read at start only; restart the host to change it`, path);
  }
  return null;
}

/**
 * A listener is kept (its routing swapped, its connections untouched) when only its routing changed; a change to
 * its address, protocol, HTTP/1.1 codec, TLS or limits closes it and opens it again.
 */
export function sameSocket(a: ListenerConfig, b: ListenerConfig): boolean {
  return a.address === b.address && a.downstreamProtocol === b.downstreamProtocol && a.http1Codec === b.http1Codec && isDeepStrictEqual(a.tlsContexts, b.tlsContexts) && isDeepStrictEqual(a.limits, b.limits);
}

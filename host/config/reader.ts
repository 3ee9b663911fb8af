// A reader over untrusted JSON that never throws: each helper checks one field, records a problem with the
// field's JSON path when it is wrong, and returns undefined so the caller can keep going and find the
// next problem. parseConfig throws once, at the end, with all of them.

import { describe, parseDurationMs } from "./duration.js";
import type { ConfigProblem, ConfigWarning } from "./types.js";

export type Json = Record<string, unknown>;

// MOSN (and Envoy) fields that a MOSN config may carry and Switchyard does not implement: a config that
// uses them still loads, with a warning that says they are ignored.
const KNOWN_UNSUPPORTED = new Set([
  "stream_filters", "listener_filters", "common_callbacks", "track_remaining", "max_connection_pools",
  "spec", "max_request_per_conn", "conn_buffer_limit_bytes", "lb_config", "cluster_type",
  "sub_type", "dns_resolvers", "dns_refresh_rate", "respect_dns_ttl", "cluster_manager_tls", "tracing",
  "metrics", "pprof", "plugin", "third_part_codec", "default_log_path", "default_log_level", "global_log_roller",
  "graceful_timeout", "processor", "mosn_server_name", "bind_port", "use_original_dst", "access_logs",
  "inspector", "connection_idle_timeout", "per_filter_config", "response_headers_to_add",
  "response_headers_to_remove", "request_headers_to_remove", "redirect", "variables", "case_sensitive",
  "cluster_header", "regex_rewrite",
  // Envoy outlier_detection fields beyond consecutive failures (success rate, failure percentage, sweeps).
  "interval", "max_ejection_percent", "consecutive_gateway_failure", "consecutive_local_origin_failure", "enforcing_consecutive_5xx",
  "enforcing_consecutive_gateway_failure", "enforcing_success_rate", "success_rate_minimum_hosts", "success_rate_request_volume",
  "success_rate_stdev_factor", "failure_percentage_threshold", "enforcing_failure_percentage", "split_external_local_origin_errors",
  "max_ejection_time_jitter", "auto_host_rewrite", "request_mirror_policies", "metadata",
  "router_configs", "virtual_clusters", "require_tls", "extend_config", "subset_selectors",
  "panic_threshold", "cluster_pool_enable", "idle_timeout", "lb_original_dst_config", "original_dst_lb_config",
  "cluster_config_path", "upstream_protocol", "alpn", "network", "type_url", "close_connection",
  "runtime_key_prefix", "total_cluster_weight",
]);

export function keyPath(path: string, key: string): string {
  const part = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
  return path === "" ? part : /^[A-Za-z_]/.test(part) ? `${path}.${part}` : `${path}[${part}]`;
}

export function indexPath(path: string, i: number): string {
  return `${path}[${i}]`;
}

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

export class Reader {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigWarning[] = [];

  error(path: string, message: string): undefined {
    this.problems.push({ path, message });
    return undefined;
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  /**
   * The value as an object, or undefined (with a problem) if it is not one. Keys outside `known` are
   * warned about, not refused: a MOSN config carries many fields we do not implement.
   */
  object(value: unknown, path: string, known: readonly string[]): Json | undefined {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return this.error(path, `expected an object, got ${describe(value)}`);
    }
    const obj = value as Json;
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      if (KNOWN_UNSUPPORTED.has(key)) {
        this.warn(keyPath(path, key), "not supported by Switchyard; ignored");
      } else {
        const near = closest(key, known);
        this.warn(keyPath(path, key), `unknown field; ignored${near ? ` (did you mean "${near}"?)` : ""}`);
      }
    }
    return obj;
  }

  string(obj: Json, key: string, path: string, required: boolean): string | undefined {
    const value = obj[key];
    if (value === undefined) return required ? this.error(keyPath(path, key), "required, expected a string") : undefined;
    if (typeof value !== "string") return this.error(keyPath(path, key), `expected a string, got ${describe(value)}`);
    if (required && value === "") return this.error(keyPath(path, key), "expected a non-empty string");
    return value;
  }

  number(obj: Json, key: string, path: string, rule: NumberRule, required = false): number | undefined {
    const value = obj[key];
    const where = keyPath(path, key);
    if (value === undefined) return required ? this.error(where, `required, expected ${numberWords(rule)}`) : undefined;
    return this.numberValue(value, where, rule);
  }

  numberValue(value: unknown, where: string, rule: NumberRule): number | undefined {
    if (typeof value !== "number" || !Number.isFinite(value)) return this.error(where, `expected ${numberWords(rule)}, got ${describe(value)}`);
    if ((rule.integer && !Number.isInteger(value)) || (rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) {
      return this.error(where, `expected ${numberWords(rule)}, got ${value}`);
    }
    return value;
  }

  boolean(obj: Json, key: string, path: string): boolean | undefined {
    const value = obj[key];
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") return this.error(keyPath(path, key), `expected true or false, got ${describe(value)}`);
    return value;
  }

  array(obj: Json, key: string, path: string, required = false): unknown[] | undefined {
    const value = obj[key];
    if (value === undefined) return required ? this.error(keyPath(path, key), "required, expected an array") : undefined;
    if (!Array.isArray(value)) return this.error(keyPath(path, key), `expected an array, got ${describe(value)}`);
    return value;
  }

  duration(obj: Json, key: string, path: string): number | undefined {
    const value = obj[key];
    if (value === undefined) return undefined;
    const ms = parseDurationMs(value);
    return typeof ms === "string" ? this.error(keyPath(path, key), ms) : ms;
  }

  /** A flat map of string tags; numbers and booleans are turned into strings as MOSN's metadata does. */
  tags(value: unknown, path: string): Record<string, string> | undefined {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return this.error(path, `expected an object of tag names to string values, got ${describe(value)}`);
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value as Json)) {
      if (k === "") this.error(path, "a tag name must not be empty");
      else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = String(v);
      else this.error(keyPath(path, k), `expected a string tag value, got ${describe(v)}`);
    }
    return out;
  }
}

function numberWords(rule: NumberRule): string {
  const kind = rule.integer ? "an integer" : "a number";
  if (rule.min !== undefined && rule.max !== undefined) return `${kind} from ${rule.min} to ${rule.max}`;
  if (rule.min !== undefined) return `${kind} ≥ ${rule.min}`;
  if (rule.max !== undefined) return `${kind} ≤ ${rule.max}`;
  return kind;
}

/** The known key nearest to a typo, if it is near enough to be a plausible slip. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

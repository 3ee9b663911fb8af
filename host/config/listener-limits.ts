// servers[].listeners[].switchyard → ListenerLimits: how long a client may take and how many connections a
// listener keeps (issue 18, slowloris). Defaults are nginx's: client_header_timeout 60s, keepalive_timeout 75s;
// the whole request (headers and body) gets Node's own default of 300s; 10,000 connections per listener.
import { FIELDS } from "./fields.js";
import { keyPath, type Reader } from "./reader.js";

export interface ListenerLimits {
  /** Until the request head is complete, counted from the connection or the previous response (408 after). */
  readonly headerTimeoutMs: number;
  /** Until the whole request, body included, has arrived (408 after); 0: none. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection between requests is closed after this. */
  readonly idleTimeoutMs: number;
  /** Connections beyond this many open ones are closed on accept. */
  readonly maxConnections: number;
}

export const LISTENER_LIMIT_DEFAULTS: ListenerLimits = {
  headerTimeoutMs: 60_000,
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 75_000,
  maxConnections: 10_000,
};

/** Longest accepted timeout: a day; anything longer is a mistake in units. */
const MAX_TIMEOUT_MS = 86_400_000;

export function readListenerLimits(r: Reader, value: unknown, path: string): ListenerLimits {
  if (value === undefined) return LISTENER_LIMIT_DEFAULTS;
  const o = r.object(value, path, FIELDS.listenerSwitchyard);
  if (o === undefined) return LISTENER_LIMIT_DEFAULTS;
  const timeout = (key: string, fallback: number, zeroOk: boolean): number => {
    const ms = r.duration(o, key, path);
    if (ms === undefined) return fallback;
    if ((!zeroOk && ms <= 0) || ms > MAX_TIMEOUT_MS) {
      r.error(keyPath(path, key), `expected a duration ${zeroOk ? "of 0 (none) or more" : "above 0"} and at most 24h, got ${ms} ms`);
      return fallback;
    }
    return ms;
  };
  const headerTimeoutMs = timeout("header_timeout", LISTENER_LIMIT_DEFAULTS.headerTimeoutMs, false);
  const requestTimeoutMs = timeout("request_timeout", LISTENER_LIMIT_DEFAULTS.requestTimeoutMs, true);
  const idleTimeoutMs = timeout("idle_timeout", LISTENER_LIMIT_DEFAULTS.idleTimeoutMs, false);
  const maxConnections = r.number(o, "max_connections", path, { integer: true, min: 1, max: 1_000_000 }) ?? LISTENER_LIMIT_DEFAULTS.maxConnections;
  // Node refuses a request timeout shorter than the header timeout: the head is part of the request.
  if (requestTimeoutMs !== 0 && requestTimeoutMs < headerTimeoutMs) {
    r.error(keyPath(path, "request_timeout"), `${requestTimeoutMs} ms is below header_timeout ${headerTimeoutMs} ms`);
  }
  return { headerTimeoutMs, requestTimeoutMs, idleTimeoutMs, maxConnections };
}

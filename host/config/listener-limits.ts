// servers[].listeners[].switchyard → ListenerLimits: how long a client may take and how many connections a
// listener keeps (issue 18, slowloris). Defaults are nginx's: client_header_timeout 60s, keepalive_timeout 75s;
// the whole request (headers and body) gets Node's own default of 300s; 10,000 connections per listener.
import { FIELDS, numberRule } from "./fields.js";
import { keyPath, type Json, type Reader } from "./reader.js";
import type { Http1Codec } from "./types.js";

// Number bounds from the schema (host/config/fields.ts).
const MAX_CONNECTIONS = numberRule("listenerSwitchyard", "max_connections");
const H2 = {
  maxConcurrentStreams: numberRule("listenerHttp2", "max_concurrent_streams"),
  maxHeaderListSize: numberRule("listenerHttp2", "max_header_list_size"),
  initialWindowSize: numberRule("listenerHttp2", "initial_window_size"),
  maxStreamResetsPerSecond: numberRule("listenerHttp2", "max_stream_resets_per_second"),
};

export interface ListenerLimits {
  /** Until the request head is complete, counted from the connection or the previous response (408 after). */
  readonly headerTimeoutMs: number;
  /** Until the whole request, body included, has arrived (408 after); 0: none. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection between requests is closed after this. */
  readonly idleTimeoutMs: number;
  /** Connections beyond this many open ones are closed on accept. */
  readonly maxConnections: number;
  /** HTTP/2 connections (downstream_protocol Http2 or Auto). */
  readonly http2: Http2Limits;
}

/** Per HTTP/2 connection (issue 15, CVE-2023-44487). */
export interface Http2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams open at once; more are refused by the client's own stack. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE in bytes: a bigger header block is refused (431 for HTTP/1.1's). */
  readonly maxHeaderListSize: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE: bytes a client may send on a stream before the proxy reads them. */
  readonly initialWindowSize: number;
  /** Streams the client resets in any one second beyond which the connection is closed (rapid reset). */
  readonly maxStreamResetsPerSecond: number;
}

const HTTP2_LIMIT_DEFAULTS: Http2Limits = {
  maxConcurrentStreams: 100,
  maxHeaderListSize: 65_536,
  initialWindowSize: 65_535,
  maxStreamResetsPerSecond: 200,
};

export const LISTENER_LIMIT_DEFAULTS: ListenerLimits = {
  headerTimeoutMs: 60_000,
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 75_000,
  maxConnections: 10_000,
  http2: HTTP2_LIMIT_DEFAULTS,
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
  const maxConnections = r.number(o, "max_connections", path, MAX_CONNECTIONS) ?? LISTENER_LIMIT_DEFAULTS.maxConnections;
  // Node refuses a request timeout shorter than the header timeout: the head is part of the request.
  if (requestTimeoutMs !== 0 && requestTimeoutMs < headerTimeoutMs) {
    r.error(keyPath(path, "request_timeout"), `${requestTimeoutMs} ms is below header_timeout ${headerTimeoutMs} ms`);
  }
  return { headerTimeoutMs, requestTimeoutMs, idleTimeoutMs, maxConnections, http2: readHttp2Limits(r, o["http2"], keyPath(path, "http2")) };
}

const CODECS: Record<string, Http1Codec> = { node: "node", llhttp: "llhttp" };

// The codec became the default once the differential fuzz, every proxy, hostile-input and streaming test on it
// (vitest.config.ts reruns them on node:http) and the e2e bench's CPU per request held (docs/performance.md).
const DEFAULT_HTTP1_CODEC: Http1Codec = "llhttp";

/** switchyard.http1_codec of a listener: "llhttp" (the default, host/server/http1/) or "node" (node:http). */
export function readHttp1Codec(r: Reader, value: unknown, path: string): Http1Codec {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return DEFAULT_HTTP1_CODEC;
  const name = r.string(value as Json, "http1_codec", path, false);
  if (name === undefined) return DEFAULT_HTTP1_CODEC;
  const codec = CODECS[name];
  if (codec === undefined) r.error(keyPath(path, "http1_codec"), `expected "node" or "llhttp", got ${JSON.stringify(name)}`);
  return codec ?? DEFAULT_HTTP1_CODEC;
}

function readHttp2Limits(r: Reader, value: unknown, path: string): Http2Limits {
  if (value === undefined) return HTTP2_LIMIT_DEFAULTS;
  const o = r.object(value, path, FIELDS.listenerHttp2);
  if (o === undefined) return HTTP2_LIMIT_DEFAULTS;
  const d = HTTP2_LIMIT_DEFAULTS;
  return {
    maxConcurrentStreams: r.number(o, "max_concurrent_streams", path, H2.maxConcurrentStreams) ?? d.maxConcurrentStreams,
    maxHeaderListSize: r.number(o, "max_header_list_size", path, H2.maxHeaderListSize) ?? d.maxHeaderListSize,
    initialWindowSize: r.number(o, "initial_window_size", path, H2.initialWindowSize) ?? d.initialWindowSize,
    maxStreamResetsPerSecond: r.number(o, "max_stream_resets_per_second", path, H2.maxStreamResetsPerSecond) ?? d.maxStreamResetsPerSecond,
  };
}

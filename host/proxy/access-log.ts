// One pino line per forwarded request. The line is built only when its level is enabled: a benchmark run
// at level "silent" pays nothing for it.

import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { ProxyError } from "./errors.js";

/** The part of a pino logger the forwarder uses. */
export type AccessLogger = Pick<Logger, "info" | "warn" | "isLevelEnabled">;

/** What one forwarded request came to; also what Forwarder.forward resolves with. */
export interface ForwardOutcome {
  /** The status line the client received; 0 when it received none (gone, or its socket was destroyed). */
  readonly status: number;
  /** Address of the host of the last attempt, or null when no host was picked. */
  readonly upstream: string | null;
  readonly attempts: number;
  /** Request body bytes sent upstream (all attempts) and response body bytes sent to the client. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly durationMs: number;
  /** The forwarder's clock when the outcome was decided (so that a caller needs no clock read of its own). */
  readonly endedAt: number;
  /** Why the request did not end in a complete upstream response; null when it did. */
  readonly error: ProxyError | null;
}

/** What one access-log line says of a request, besides the caller's fields. */
export interface AccessEntry {
  readonly status: number;
  readonly durationMs: number;
  readonly upstream: string | null;
  readonly attempts: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly reason?: string | null;
  readonly detail?: string;
}

/**
 * The one place an access-log line is built (docs/operations.md, "The access log"): the caller's fields (listener,
 * route, cluster, chain summary, …) first, so that they cannot mask the core ones, then the request's.
 */
export function logAccess(logger: AccessLogger, level: "info" | "warn", req: IncomingMessage, client: string | null, entry: AccessEntry, fields: Readonly<Record<string, unknown>> | undefined): void {
  if (!logger.isLevelEnabled(level)) return;
  const line: Record<string, unknown> = fields === undefined ? {} : { ...fields };
  line.method = req.method;
  line.path = req.url;
  line.status = entry.status;
  line.durationMs = Math.round(entry.durationMs * 1000) / 1000;
  line.upstream = entry.upstream;
  line.attempts = entry.attempts;
  line.bytesIn = entry.bytesIn;
  line.bytesOut = entry.bytesOut;
  line.client = client;
  line.requestId = first(req.headers["x-request-id"]) ?? null;
  line.userAgent = first(req.headers["user-agent"]) ?? null;
  if (entry.reason !== undefined && entry.reason !== null) line.reason = entry.reason;
  if (entry.detail !== undefined) line.detail = entry.detail;
  logger[level](line, "request");
}

/**
 * The client's address and port, read while the request's socket is there (a forwarded request's line is written
 * at its end, when node:http may have let go of the socket).
 */
export function clientOf(socket: { remoteAddress?: string; remotePort?: number } | null | undefined): string | null {
  const address = socket?.remoteAddress;
  if (address === undefined) return null;
  return address.includes(":") ? `[${address}]:${socket!.remotePort}` : `${address}:${socket!.remotePort}`;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The forwarder's line: info, or warn when the request did not end in a complete upstream response. */
export function writeAccessLog(logger: AccessLogger, req: IncomingMessage, client: string | null, outcome: ForwardOutcome, source: { logFields?(): Readonly<Record<string, unknown>> | undefined }): void {
  const error = outcome.error;
  const level = error === null ? "info" : "warn";
  if (!logger.isLevelEnabled(level)) return;
  logAccess(logger, level, req, client, error === null ? outcome : { ...outcome, reason: error.code, detail: error.message }, source.logFields?.());
}

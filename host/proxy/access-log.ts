// One pino line per forwarded request. The line is built only when its level is enabled: a benchmark run
// at level "silent" pays nothing for it.

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

export function writeAccessLog(
  logger: AccessLogger,
  method: string,
  path: string,
  outcome: ForwardOutcome,
  source: { logFields?(): Readonly<Record<string, unknown>> | undefined },
): void {
  const error = outcome.error;
  const level = error === null ? "info" : "warn";
  if (!logger.isLevelEnabled(level)) return;
  // The caller's fields (route, cluster, chain summary) come first so that they cannot mask the core ones.
  const fields = source.logFields?.();
  const line: Record<string, unknown> = fields === undefined ? {} : { ...fields };
  line.method = method;
  line.path = path;
  line.status = outcome.status;
  line.durationMs = Math.round(outcome.durationMs * 1000) / 1000;
  line.upstream = outcome.upstream;
  line.attempts = outcome.attempts;
  line.bytesIn = outcome.bytesIn;
  line.bytesOut = outcome.bytesOut;
  if (error !== null) {
    line.reason = error.code;
    line.detail = error.message;
  }
  logger[level](line, "request");
}

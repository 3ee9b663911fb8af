// A route's forwarding policy: deadline, retry rule, rewrites and added headers. Validated and frozen once
// per route config (validate → freeze → swap), so that the per-request path reads it without checks.

import type { Host } from "../cluster/types.js";
import type { ForwardOutcome } from "./access-log.js";
import { ForwardPolicyError } from "./errors.js";
import type { HeaderToAdd, RequestHeaderRules } from "./headers.js";
import { HTTP_TOKEN } from "../util/http-token.js";
import type { UpstreamTransport } from "./transport.js";

/** At most this many attempts per request, whatever a config asks: a retry storm multiplies load. */
export const MAX_ATTEMPTS = 10;

/** Chooses the host of each attempt; the route handler asks its balancer over the request's subset. */
export interface HostPicker {
  /** Returns a host not in `exclude` (the hosts that already failed this request), or null when none is left. */
  pick(exclude: ReadonlySet<Host>): Host | null;
}

/** A picker that also hears how the request ended: one object per request, no promise (Forwarder.dispatch). */
export interface ForwardListener extends HostPicker {
  /** Called once, after the client got its answer or the reason it did not is logged. */
  done(outcome: ForwardOutcome): void;
  /**
   * When forwarding started, on the forwarder's clock, if the caller read it already (one clock read per
   * request fewer); the forwarder reads its clock otherwise.
   */
  readonly startedAt?: number;
  /** Fields for the request's access log line (route, cluster, chain summary); asked only when one is written. */
  logFields?(): Readonly<Record<string, unknown>> | undefined;
}

export interface RetryPolicy {
  /** Attempts in all, the first included (go-kit Retry's `max`); 1 means no retry. Config num_retries + 1. */
  readonly attempts: number;
  /** Retry when an attempt cannot connect, is reset before any response byte, or passes its per-try timeout. */
  readonly onConnectFailure: boolean;
  /** Upstream statuses answered by another host when one is left (the rejected answer is drained, not sent). */
  readonly onStatuses: ReadonlySet<number>;
  /**
   * gRPC status codes of a Trailers-Only answer (grpc-status in the response headers: no message sent) that
   * are answered by another host when one is left, as onStatuses; a gRPC call's request messages are kept
   * for the retry up to REPLAY_LIMIT_BYTES (host/proxy/replay-body.ts).
   */
  readonly onGrpcStatuses: ReadonlySet<number>;
  /** Time allowed for one attempt until its response headers (timed by the forwarder, to the ms); null: none. */
  readonly perTryTimeoutMs: number | null;
}

export interface ForwardPolicy extends RequestHeaderRules {
  /** Deadline over all attempts up to the end of the response (Envoy's route timeout); 0: none. */
  readonly timeoutMs: number;
  /** Connect timeout of the pools this route creates; null: the pool registry's default. */
  readonly connectTimeoutMs: number | null;
  readonly retry: RetryPolicy;
  /** A path starting with `prefix` has it replaced by `replacement` (the route's matched prefix). */
  readonly prefixRewrite: { readonly prefix: string; readonly replacement: string } | null;
  /** How the cluster's hosts are reached (TLS, host/proxy/transport.ts); null: cleartext HTTP/1.1. */
  readonly transport: UpstreamTransport | null;
}

/** What a route config says; everything but timeoutMs is optional. */
export interface ForwardPolicySpec {
  timeoutMs: number;
  connectTimeoutMs?: number | null;
  retry?: {
    attempts: number;
    onConnectFailure?: boolean;
    onStatuses?: Iterable<number>;
    onGrpcStatuses?: Iterable<number>;
    perTryTimeoutMs?: number | null;
  } | null;
  prefixRewrite?: { prefix: string; replacement: string } | null;
  hostRewrite?: string | null;
  headersToAdd?: readonly { name: string; value: string; append: boolean }[] | null;
  transport?: UpstreamTransport | null;
}

// A header value may hold any visible byte, spaces and tabs; CR, LF and NUL would split the request.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const FORBIDDEN_TO_ADD = new Set([
  "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade", "expect",
]);

function nonNegativeMs(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ForwardPolicyError(where, `must be a finite number of milliseconds >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

function positiveMs(value: unknown, where: string): number {
  if (nonNegativeMs(value, where) === 0) throw new ForwardPolicyError(where, "must be > 0");
  return value as number;
}

/**
 * Validates a route's forwarding spec and returns a frozen policy. Throws ForwardPolicyError
 * (E_FORWARD_POLICY_INVALID) naming the bad field under `where`.
 *
 * @example
 * const policy = compileForwardPolicy({ timeoutMs: 15_000, retry: { attempts: 3, onStatuses: [503] } }, "routes[0]");
 */
export function compileForwardPolicy(spec: ForwardPolicySpec, where = "route"): ForwardPolicy {
  if (spec === null || typeof spec !== "object") throw new ForwardPolicyError(where, "must be an object");
  const timeoutMs = nonNegativeMs(spec.timeoutMs, `${where}.timeoutMs`);
  const connectTimeoutMs = spec.connectTimeoutMs == null ? null : positiveMs(spec.connectTimeoutMs, `${where}.connectTimeoutMs`);
  const retry = compileRetry(spec.retry ?? null, `${where}.retry`);

  let prefixRewrite: ForwardPolicy["prefixRewrite"] = null;
  if (spec.prefixRewrite != null) {
    const { prefix, replacement } = spec.prefixRewrite;
    if (typeof prefix !== "string" || !prefix.startsWith("/")) {
      throw new ForwardPolicyError(`${where}.prefixRewrite.prefix`, `must be a path starting with "/", got ${JSON.stringify(prefix)}`);
    }
    if (typeof replacement !== "string" || !/^[\x21-\x7e]*$/.test(replacement)) {
      throw new ForwardPolicyError(`${where}.prefixRewrite.replacement`, `must be a path without spaces or control characters, got ${JSON.stringify(replacement)}`);
    }
    prefixRewrite = Object.freeze({ prefix, replacement });
  }

  let hostRewrite: string | null = null;
  if (spec.hostRewrite != null) {
    if (typeof spec.hostRewrite !== "string" || !/^[\x21-\x7e]+$/.test(spec.hostRewrite)) {
      throw new ForwardPolicyError(`${where}.hostRewrite`, `must be a non-empty host without spaces, got ${JSON.stringify(spec.hostRewrite)}`);
    }
    hostRewrite = spec.hostRewrite;
  }

  const headersToAdd: HeaderToAdd[] = [];
  const replaced = new Set<string>();
  (spec.headersToAdd ?? []).forEach((h, i) => {
    const at = `${where}.headersToAdd[${i}]`;
    if (h === null || typeof h !== "object") throw new ForwardPolicyError(at, "must be an object");
    if (typeof h.name !== "string" || !HTTP_TOKEN.test(h.name)) throw new ForwardPolicyError(`${at}.name`, `must be a header name token, got ${JSON.stringify(h.name)}`);
    const name = h.name.toLowerCase();
    if (FORBIDDEN_TO_ADD.has(name) || name.startsWith("proxy-")) {
      throw new ForwardPolicyError(`${at}.name`, `"${name}" is managed by the proxy and cannot be added${name === "host" ? " (use hostRewrite)" : ""}`);
    }
    if (typeof h.value !== "string" || !FIELD_VALUE.test(h.value)) {
      throw new ForwardPolicyError(`${at}.value`, "must be a string without CR, LF or NUL");
    }
    if (typeof h.append !== "boolean") throw new ForwardPolicyError(`${at}.append`, "must be true or false");
    if (!h.append) replaced.add(name);
    headersToAdd.push(Object.freeze({ name, value: h.value, append: h.append }));
  });

  return Object.freeze({
    timeoutMs,
    connectTimeoutMs,
    retry,
    prefixRewrite,
    hostRewrite,
    headersToAdd: Object.freeze(headersToAdd),
    replaced,
    transport: spec.transport ?? null,
  });
}

function compileRetry(spec: ForwardPolicySpec["retry"], where: string): RetryPolicy {
  if (spec === null || spec === undefined) {
    return Object.freeze({ attempts: 1, onConnectFailure: false, onStatuses: new Set<number>(), onGrpcStatuses: new Set<number>(), perTryTimeoutMs: null });
  }
  if (typeof spec !== "object") throw new ForwardPolicyError(where, "must be an object");
  const { attempts } = spec;
  if (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < 1 || attempts > MAX_ATTEMPTS) {
    throw new ForwardPolicyError(`${where}.attempts`, `must be an integer from 1 to ${MAX_ATTEMPTS} (first attempt included), got ${JSON.stringify(attempts)}`);
  }
  const onConnectFailure = spec.onConnectFailure ?? true;
  if (typeof onConnectFailure !== "boolean") throw new ForwardPolicyError(`${where}.onConnectFailure`, "must be true or false");
  const onStatuses = new Set<number>();
  let i = 0;
  for (const status of spec.onStatuses ?? []) {
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new ForwardPolicyError(`${where}.onStatuses[${i}]`, `must be an HTTP status from 200 to 599, got ${JSON.stringify(status)}`);
    }
    onStatuses.add(status);
    i++;
  }
  const onGrpcStatuses = new Set<number>();
  i = 0;
  for (const code of spec.onGrpcStatuses ?? []) {
    if (!Number.isInteger(code) || code < 1 || code > 16) {
      throw new ForwardPolicyError(`${where}.onGrpcStatuses[${i}]`, `must be a gRPC status code from 1 to 16, got ${JSON.stringify(code)}`);
    }
    onGrpcStatuses.add(code);
    i++;
  }
  const perTryTimeoutMs = spec.perTryTimeoutMs == null ? null : positiveMs(spec.perTryTimeoutMs, `${where}.perTryTimeoutMs`);
  return Object.freeze({ attempts, onConnectFailure, onStatuses, onGrpcStatuses, perTryTimeoutMs });
}

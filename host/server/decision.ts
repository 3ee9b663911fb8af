// What the request path does with a request whose route handler gave no subset to forward to: answer now (a
// Reject, a plugin that failed closed, no host that can come), wait and decide again (a Wait verdict), or wait
// for a host of the cluster to become available. A pure step: it reads the handler's result, the route, the
// cluster's snapshot and where the request stands, and moves nothing, so that the pipeline
// (server/pipeline.ts) and explain (explain/explain.ts) take the same decision from the same inputs.

import { HostStatus, type ClusterSnapshot } from "../cluster/types.js";
import type { RouteAction } from "../config/types.js";
import { HandlerStatus, type HandlerResult } from "../route/handler.js";
import { GrpcStatus, parseGrpcTimeout } from "../proxy/grpc.js";

/** An answer the pipeline gives without forwarding. */
export interface Answer {
  readonly status: number;
  readonly body: string;
  /** The proxy's own code (the body goes in the error shape); null: a Reject's or a direct_response's body, sent as given. */
  readonly reason: string | null;
  /** The plugin whose verdict or failure it is. */
  readonly plugin?: string;
  /** A gRPC call's status, where it is not gRPC's code for `status`. */
  readonly grpcStatus?: number;
}

export type Decision =
  | { readonly kind: "answer"; readonly answer: Answer }
  /** A Wait verdict within the request's bounds: run the handlers again after waitMs. */
  | { readonly kind: "wait"; readonly waitMs: number; readonly plugin: string }
  /** Every host of the cluster unavailable now: wait up to remainingMs for one, then decide again. */
  | { readonly kind: "await-host"; readonly remainingMs: number };

/** Where a request stands when its handlers are run (again). */
export interface Standing {
  /** Wait verdicts already waited. */
  readonly waits: number;
  /** Since the request started. */
  readonly elapsedMs: number;
  /** Its one deadline, in ms after it started (the route timeout, or a shorter grpc-timeout); 0: none. */
  readonly deadlineMs: number;
  /** A gRPC call: a wait its deadline ends is answered DEADLINE_EXCEEDED. */
  readonly grpc: boolean;
}

/** A request's one deadline on `action` (Standing.deadlineMs): the route timeout, or a gRPC call's shorter grpc-timeout. */
export function deadlineOf(action: RouteAction, grpc: boolean, grpcTimeout: string | string[] | undefined): number {
  const ms = grpc ? parseGrpcTimeout(grpcTimeout) : null;
  if (ms !== null && (action.timeoutMs === 0 || ms < action.timeoutMs)) return ms;
  return action.timeoutMs;
}

/** What the request's deadline is called in an answer. */
export function deadlineName(routeTimeoutMs: number, deadlineMs: number): string {
  return deadlineMs === routeTimeoutMs ? "the route timeout" : `the call's grpc-timeout (${deadlineMs} ms)`;
}

/** The gRPC status of a call whose deadline ended a wait (DEADLINE_EXCEEDED, as the forwarder answers it); undefined for any other request. */
function pastDeadline(s: Standing): number | undefined {
  return s.grpc ? GrpcStatus.DEADLINE_EXCEEDED : undefined;
}

/** The wait for a host of the cluster (an "await-host" decision) ended without one: `why` is the wait's own account. */
export function noHostInTime(reason: string, why: string, action: RouteAction, s: Standing): Answer {
  return { status: 503, body: `${reason}; ${why} (${deadlineName(action.timeoutMs, s.deadlineMs)})`, reason: "E_NO_HOST", grpcStatus: pastDeadline(s) };
}

/** The wait for a connection of `cluster`'s circuit breaker (max_connections) ended at the request's deadline. */
export function noConnectionInTime(cluster: string, maxConnections: number, action: RouteAction, s: Standing): Answer {
  return { status: 503, body: `circuit breaker open: cluster ${cluster}: no connection within ${deadlineName(action.timeoutMs, s.deadlineMs)} (max_connections ${maxConnections})`, reason: "E_CIRCUIT_OPEN", grpcStatus: pastDeadline(s) };
}

function hasAvailableHost(snapshot: ClusterSnapshot | undefined): boolean {
  if (snapshot === undefined) return false;
  for (const h of snapshot.hosts) if (h.status === HostStatus.Available) return true;
  return false;
}

/**
 * The decision for `result` (not Available) on `action`, for a request in cluster `cluster` whose snapshot is
 * `snapshot` (undefined: the cluster is gone), standing at `s`.
 */
export function decideStopped(result: Exclude<HandlerResult, { status: HandlerStatus.Available }>, action: RouteAction, cluster: string, snapshot: ClusterSnapshot | undefined, s: Standing): Decision {
  if (result.status === HandlerStatus.Stop && result.verdict?.kind === "reject") {
    const v = result.verdict;
    return { kind: "answer", answer: { status: v.status, body: v.body, reason: null, plugin: v.plugin, grpcStatus: v.grpcStatus ?? undefined } };
  }
  if (result.status === HandlerStatus.Stop && result.verdict?.kind === "wait") {
    const v = result.verdict;
    const deadline = s.deadlineMs > 0 ? s.deadlineMs : Infinity;
    const exhausted = s.waits >= action.waitMaxCount;
    if (exhausted || s.elapsedMs + v.waitMs >= deadline) {
      const why = exhausted ? `still waiting after ${s.waits} waits (wait.max_count)` : `the wait would pass ${deadlineName(action.timeoutMs, s.deadlineMs)}`;
      const grpcStatus = exhausted ? undefined : pastDeadline(s);
      return { kind: "answer", answer: { status: 503, body: `plugin ${v.plugin} asked to wait: ${why}`, reason: "E_WAIT_EXHAUSTED", plugin: v.plugin, grpcStatus } };
    }
    return { kind: "wait", waitMs: v.waitMs, plugin: v.plugin };
  }
  if (result.status === HandlerStatus.Stop && result.failure !== undefined) {
    const f = result.failure;
    return { kind: "answer", answer: { status: 503, body: `routing failed: plugin ${f.plugin} failed and its policy is fail-closed`, reason: f.code, plugin: f.plugin } };
  }
  // No host: when the cluster has hosts but none is available now (every one unreachable), wait for one to come
  // back within the request's deadline, as gRPC does without fail-fast; a request without one has nothing to
  // wait within. A cluster with no hosts at all has nothing to come back: 503 now. When hosts are available and
  // still none is left, the chain and fallback said no: 503 now.
  if (snapshot !== undefined && snapshot.hosts.length === 0) {
    return { kind: "answer", answer: { status: 503, body: `${result.reason}; cluster ${cluster} has no hosts`, reason: "E_NO_HOST" } };
  }
  const remainingMs = s.deadlineMs - s.elapsedMs;
  if (!action.failFast && snapshot !== undefined && s.deadlineMs > 0 && remainingMs > 0 && !hasAvailableHost(snapshot)) return { kind: "await-host", remainingMs };
  return { kind: "answer", answer: { status: 503, body: result.reason, reason: "E_NO_HOST" } };
}

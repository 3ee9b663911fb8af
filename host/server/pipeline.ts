// The request path (docs/architecture.md): route match → cluster choice → route handlers (the plugin
// chain, with Reject / Wait verdicts and fallbacks) → the balancer over the filtered snapshot → the forwarder.
// Everything it reads per request was built when the config or a plugin changed; the state is taken once per
// request, so a swap in the middle of a request never mixes two versions.

import { errorAnswer } from "../proxy/errors.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { headRefusal } from "./request-head.js";
import { splitAbsoluteForm } from "../util/absolute-form.js";
import type { Logger } from "pino";
import { waitForAvailable } from "../cluster/available.js";
import type { Clock, TimerHandle } from "../cluster/clock.js";
import type { ClusterManager } from "../cluster/cluster-manager.js";
import type { OutlierDetector } from "../cluster/outlier.js";
import type { CircuitBreaker } from "../proxy/circuit-breaker.js";
import { type Balancer, type Host, type PickContext, type RandomSource, type Subset } from "../cluster/types.js";
import type { RouteAction } from "../config/types.js";
import type { ChainStep } from "../plugin/chain.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { clientOf, logAccess, type ForwardOutcome } from "../proxy/access-log.js";
import type { Forwarder } from "../proxy/forward.js";
import type { ForwardListener, ForwardPolicy } from "../proxy/policy.js";
import { pickCluster } from "../router/index.js";
import type { RoutingState } from "./routing.js";
import { handlerFor, HandlerStatus, type HandlerContext, type HandlerResult } from "../route/handler.js";
import type { CompiledRoute } from "./compiled-route.js";
import { type Answer, deadlineName, deadlineOf, decideStopped } from "./decision.js";
import { GrpcStatus, grpcStatusFor, isGrpc, writeGrpcError } from "../proxy/grpc.js";


export interface PipelineDeps {
  readonly clusters: ClusterManager;
  readonly registry: PluginRegistry;
  readonly forwarder: Forwarder;
  readonly log: Logger;
  readonly random: RandomSource;
  readonly listener: string;
  /**
   * Request times and the timers of Wait verdicts, waits for a host and the circuit breaker's admission
   * (host/cluster/clock.ts: systemClock in production, a ManualClock in tests); the forwarder reads the same
   * clock, so that the durations it reports start from this one's times.
   */
  readonly clock: Clock;
  /** Observes every decision (metrics); optional. */
  readonly observe?: (event: RequestEvent) => void;
  /**
   * The outlier detector of a cluster, if it has one: every forwarded request reports its hosts' failures
   * (connect errors, resets, timeouts, 5xx, retried or not) and the last host's success to it.
   */
  readonly outliers?: (cluster: string) => OutlierDetector | undefined;
  /** The circuit breaker of a cluster, if its config has circuit_breakers (host/proxy/circuit-breaker.ts). */
  readonly breakers?: (cluster: string) => CircuitBreaker | undefined;
  /** Makes the x-request-id of a request that came without one (default crypto.randomUUID; tests inject). */
  readonly requestId?: () => string;
}

export interface RequestEvent {
  readonly listener: string;
  readonly route: string | null;
  readonly cluster: string | null;
  readonly status: number;
  readonly steps: readonly ChainStep[];
  readonly durationMs: number;
  /** Upstream attempts and the time spent forwarding (all attempts), when the request was forwarded. */
  readonly attempts?: number;
  readonly upstreamMs?: number;
}

/** The chain summary of the access log: per plugin, hosts in → out and any verdict. */
export function summarize(steps: readonly ChainStep[]): string | undefined {
  if (steps.length === 0) return undefined;
  let s = "";
  for (const st of steps) {
    if (s.length > 0) s += " ";
    s += `${st.plugin}:${st.in}>${st.out}`;
    if (st.outcome !== "accept") s += `:${st.outcome}`;
  }
  return s;
}

// Route matching is synchronous, so one lookup function serves every request, reading the headers of the
// request being matched: no closure per request.
let matching: IncomingMessage["headers"] | null = null;
function lookupHeader(name: string): string | undefined {
  const v = matching![name];
  return Array.isArray(v) ? v.join(",") : v;
}

/** Replaces the request's Host (raw and parsed) with `authority`, adding one when the client sent none. */
function setHost(req: IncomingMessage, authority: string): void {
  const raw = req.rawHeaders;
  req.headers.host = authority;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === "host") {
      raw[i + 1] = authority;
      return;
    }
  }
  raw.push("Host", authority);
}

/** A tags map with no key (config maps are frozen and small: no Object.keys array per request). */
function isEmpty(tags: Readonly<Record<string, string>>): boolean {
  for (const _ in tags) return false;
  return true;
}

/** Errors of a forwarded request that count against the host that served it (Envoy's gateway failures). */
const HOST_FAILURES: ReadonlySet<string> = new Set(["E_UPSTREAM_CONNECT", "E_UPSTREAM_TLS", "E_UPSTREAM_RESET", "E_UPSTREAM_TIMEOUT", "E_UPSTREAM_PROTOCOL", "E_ROUTE_TIMEOUT"]);

function isHostFailure(outcome: ForwardOutcome): boolean {
  return outcome.error === null ? outcome.status >= 500 : HOST_FAILURES.has(outcome.error.code);
}

/** Where a request stands when it is answered or the client leaves: the access line's and the request event's fields. */
interface At {
  readonly route: string | null;
  readonly cluster: string | null;
  readonly steps: readonly ChainStep[];
}

const NO_STEPS: readonly ChainStep[] = Object.freeze([]);
/** Answered before any route matched. */
const UNROUTED: At = Object.freeze({ route: null, cluster: null, steps: NO_STEPS });

/** Per request: when it started, its deadline, and how long it has waited (Wait verdicts, no host available). */
interface Progress {
  readonly started: number;
  /**
   * The request's one deadline, in ms after `started`, for every wait and the forwarding: the route timeout, or
   * a gRPC call's grpc-timeout when that is shorter; 0: none.
   */
  readonly deadlineMs: number;
  /** A gRPC call: a wait its deadline ends is answered DEADLINE_EXCEEDED, as the forwarder answers it. */
  readonly grpc: boolean;
  waits: number;
  /** Whether time was spent waiting: the forwarder then gets what is left of the deadline. */
  waited: boolean;
}


export class Pipeline {
  constructor(private state: RoutingState, private readonly deps: PipelineDeps) {}

  /** A config reload: the next request routes with `state`; requests in flight finish on the one they took. */
  swap(state: RoutingState): void {
    this.state = state;
  }

  /** What the next request routes with (explain reads it: host.ts). */
  get routing(): RoutingState {
    return this.state;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const started = this.deps.clock.now();
    const state = this.state;
    // Refused before any plugin runs (request-head.ts). (node:http already answers 431 to oversized header
    // blocks, so MAX_REQUEST_BYTES cannot be reached.)
    const refused = headRefusal(req.rawHeaders);
    if (refused !== null) return this.answer(req, res, started, UNROUTED, { status: refused.status, body: refused.message, reason: refused.code });
    // x-request-id: the client's is kept; one is made for a request without, and forwarded upstream with it
    // (after the head checks, so that it never makes a request's header count the one too many).
    if (req.headers["x-request-id"] === undefined) {
      const id = (this.deps.requestId ?? randomUUID)();
      req.headers["x-request-id"] = id;
      req.rawHeaders.push("x-request-id", id);
    }
    const headers = req.headers;
    let authority = headers.host ?? "";
    let path = req.url ?? "/";
    if (path.charCodeAt(0) !== 47 /* / */) {
      // Absolute form ("GET http://api.example.com/p"), which a server must accept (RFC 9112 §3.2.2): its
      // authority wins over Host and its path is what routes match. Host is rewritten to match, so that the
      // plugins and the upstream see the authority that routed the request, not the client's other claim.
      const abs = splitAbsoluteForm(path);
      if (abs !== null) {
        authority = abs.authority;
        path = abs.path;
        setHost(req, authority);
      }
    }
    matching = headers;
    const m = state.table.match(authority, path, lookupHeader);
    matching = null;
    if (m === null) return this.answer(req, res, started, UNROUTED, { status: 404, body: "no route matches this request", reason: "E_NO_ROUTE" });
    if (m.kind === "direct") return this.answer(req, res, started, { route: m.route.label, cluster: null, steps: NO_STEPS }, { status: m.action.status, body: m.action.body, reason: null });
    const action = m.action;
    const compiled = m.prepared;
    const choice = pickCluster(action, this.deps.random);
    const cluster = this.deps.clusters.get(choice.name);
    if (cluster === undefined) return this.answer(req, res, started, { route: m.route.label, cluster: choice.name, steps: NO_STEPS }, { status: 503, body: `cluster ${choice.name} not found`, reason: "E_NO_CLUSTER" });
    const defaultSubset = cluster.settings.defaultSubset;
    const ctx: HandlerContext = {
      request: { method: req.method ?? "GET", path, authority, rawHeaders: req.rawHeaders },
      cluster: choice.name,
      metadataMatch: isEmpty(choice.metadataMatch) ? null : choice.metadataMatch,
      fallback: choice.fallback,
      defaultSubset: isEmpty(defaultSubset) ? null : defaultSubset,
      // The steps feed the access log's chain summary only (metrics read the plugins' counters).
      withSteps: this.deps.log.isLevelEnabled("warn"),
    };
    const grpc = isGrpc(headers["content-type"]);
    this.decide(req, res, action, compiled, ctx, m.route.label, { started, deadlineMs: deadlineOf(action, grpc, headers["grpc-timeout"]), grpc, waits: 0, waited: false });
  }

  /** Runs the route handlers; a Wait verdict, or no available host, runs them again later within the route's bounds. */
  private decide(req: IncomingMessage, res: ServerResponse, action: RouteAction, compiled: CompiledRoute, ctx: HandlerContext, route: string, p: Progress): void {
    const chain = this.deps.registry.chainFor(action.plugins);
    const result: HandlerResult = handlerFor(chain).isAvailable(ctx, this.deps.clusters);
    if (result.status === HandlerStatus.Available) return this.forward(req, res, compiled, ctx, result.subset, route, result.steps, p, result.fallback);
    const started = p.started;
    const clock = this.deps.clock;
    const cluster = this.deps.clusters.get(ctx.cluster);
    const at: At = { route, cluster: ctx.cluster, steps: result.steps };
    // The same step explain takes (server/decision.ts); what follows carries it out.
    const d = decideStopped(result, action, ctx.cluster, cluster?.snapshot(), { waits: p.waits, elapsedMs: clock.now() - started, deadlineMs: p.deadlineMs, grpc: p.grpc });
    if (d.kind === "answer") return this.answer(req, res, started, at, d.answer);
    p.waited = true;
    if (d.kind === "wait") {
      p.waits++;
      // The response's 'close' (not the request's, which also fires once a body was read) says the client left.
      const onClose = () => {
        clock.clearTimeout(timer);
        this.gone(req, started, at);
      };
      const timer = clock.setTimeout(() => {
        res.off("close", onClose);
        this.decide(req, res, action, compiled, ctx, route, p);
      }, d.waitMs);
      res.once("close", onClose);
      return;
    }
    let left = false;
    const onClose = () => {
      left = true;
      this.gone(req, started, at);
    };
    res.once("close", onClose);
    // A client that leaves does not cancel the wait: its listeners go at the deadline or the next host.
    waitForAvailable(cluster!, clock.now() + d.remainingMs, clock).then(
      () => {
        res.off("close", onClose);
        if (!left) this.decide(req, res, action, compiled, ctx, route, p);
      },
      (err: Error) => {
        res.off("close", onClose);
        if (!left) this.answer(req, res, started, at, { status: 503, body: `${result.reason}; ${err.message} (${deadlineName(action.timeoutMs, p.deadlineMs)})`, reason: "E_NO_HOST", grpcStatus: this.pastDeadline(p) });
      },
    );
  }

  private forward(req: IncomingMessage, res: ServerResponse, compiled: CompiledRoute, ctx: HandlerContext, subset: Subset, route: string, steps: readonly ChainStep[], p: Progress, fallback: string | undefined): void {
    const breaker = this.deps.breakers?.(ctx.cluster);
    // Without a circuit breaker, no closure per request.
    if (breaker === undefined) return this.send(req, res, compiled, ctx, subset, route, steps, p, fallback, undefined);
    this.admit(breaker, compiled.policies.get(ctx.cluster)!, req, res, { route, cluster: ctx.cluster, steps }, p, () => this.send(req, res, compiled, ctx, subset, route, steps, p, fallback, breaker));
  }

  private send(req: IncomingMessage, res: ServerResponse, compiled: CompiledRoute, ctx: HandlerContext, subset: Subset, route: string, steps: readonly ChainStep[], p: Progress, fallback: string | undefined, breaker: CircuitBreaker | undefined): void {
    const cluster = this.deps.clusters.get(ctx.cluster)!;
    const hashHeader = cluster.settings.hashHeader;
    const hv = hashHeader === undefined ? undefined : req.headers[hashHeader];
    // A request that waited starts forwarding now; any other one started when routing did (microseconds ago).
    const now = p.waited ? this.deps.clock.now() : p.started;
    const f = new Forwarding(this.deps, { balancer: cluster.balancer, subset, hashKey: Array.isArray(hv) ? hv[0] : hv, route, cluster: ctx.cluster, steps, fallback, started: p.started, startedAt: now, breaker });
    let policy = compiled.policies.get(ctx.cluster)!;
    // The forwarder gets the request's deadline (a gRPC call's grpc-timeout when shorter), what is left of it after waits.
    if (p.waited) policy = remainingPolicy(policy, p.deadlineMs, now - p.started);
    else if (p.deadlineMs !== policy.timeoutMs) policy = Object.freeze({ ...policy, timeoutMs: p.deadlineMs });
    this.deps.forwarder.dispatch(req, res, policy, f);
  }

  /** Forwards through the cluster's circuit breaker: now, after waiting for a connection, or 503 E_CIRCUIT_OPEN. */
  private admit(breaker: CircuitBreaker, policy: ForwardPolicy, req: IncomingMessage, res: ServerResponse, at: At, p: Progress, send: () => void): void {
    const clock = this.deps.clock;
    let timer: TimerHandle | undefined;
    const onClose = () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      if (a.kind === "pending") a.cancel();
      this.gone(req, p.started, at);
    };
    const a = breaker.admit(policy.transport !== null && policy.transport.h2 !== "none", () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      res.off("close", onClose);
      p.waited = true;
      send();
    });
    if (a.kind === "go") return send();
    if (a.kind === "refused") return this.answer(req, res, p.started, at, { status: 503, body: `circuit breaker open: ${a.message}`, reason: "E_CIRCUIT_OPEN" });
    // Pending: until a connection frees, the client leaves, or the request's deadline passes.
    res.once("close", onClose);
    if (p.deadlineMs > 0) {
      timer = clock.setTimeout(() => {
        a.cancel();
        res.off("close", onClose);
        this.answer(req, res, p.started, at, { status: 503, body: `circuit breaker open: cluster ${at.cluster}: no connection within ${deadlineName(policy.timeoutMs, p.deadlineMs)} (max_connections ${breaker.settings.maxConnections})`, reason: "E_CIRCUIT_OPEN", grpcStatus: this.pastDeadline(p) });
      }, Math.max(1, p.deadlineMs - (clock.now() - p.started)));
    }
  }

  /** The client left before a decision was made (while waiting): logged as the forwarder logs it. */
  private gone(req: IncomingMessage, started: number, at: At): void {
    const durationMs = this.deps.clock.now() - started;
    logAccess(this.deps.log, "info", req, clientOf(req.socket), { status: 0, durationMs, upstream: null, attempts: 0, bytesIn: 0, bytesOut: 0, reason: "E_CLIENT_ABORTED" }, this.lineFields(at));
    this.deps.observe?.({ listener: this.deps.listener, route: at.route, cluster: at.cluster, status: 0, steps: at.steps, durationMs });
  }

  private lineFields(at: At, plugin?: string): Record<string, unknown> {
    const fields: Record<string, unknown> = { listener: this.deps.listener, route: at.route, cluster: at.cluster };
    const chain = summarize(at.steps);
    if (chain !== undefined) fields.chain = chain;
    if (plugin !== undefined) fields.plugin = plugin;
    return fields;
  }

  /** The gRPC status of a gRPC call whose deadline ended a wait; undefined for any other request. */
  private pastDeadline(p: Progress): number | undefined {
    return p.grpc ? GrpcStatus.DEADLINE_EXCEEDED : undefined;
  }

  /** Answers the request now: `status` and `body`, or for a gRPC call `grpcStatus` (else gRPC's code for `status`) and `body` as grpc-message. */
  private answer(req: IncomingMessage, res: ServerResponse, started: number, at: At, a: Answer): void {
    const { status, body, reason } = a;
    let bytesOut = 0;
    if (!res.headersSent && !res.destroyed) {
      if (isGrpc(req.headers["content-type"])) writeGrpcError(res, a.grpcStatus ?? grpcStatusFor(status, reason), body);
      else {
        // With a reason the answer is the proxy's own, in the forwarder's shape (proxy/errors.ts errorAnswer);
        // without, it is a Reject's or a direct_response's body, sent as given.
        const text = reason === null ? body : errorAnswer(reason, body);
        bytesOut = Buffer.byteLength(text);
        res.writeHead(status, { "content-type": reason === null ? "text/plain; charset=utf-8" : "application/json", "content-length": bytesOut });
        res.end(text);
      }
    }
    // The request body, if any, is not wanted: drain it so that the connection can be reused.
    if (!req.complete) req.resume();
    const durationMs = this.deps.clock.now() - started;
    const level = status >= 500 ? "warn" : "info";
    if (this.deps.log.isLevelEnabled(level)) logAccess(this.deps.log, level, req, clientOf(req.socket), { status, durationMs, upstream: null, attempts: 0, bytesIn: 0, bytesOut, reason }, this.lineFields(at, a.plugin));
    this.deps.observe?.({ listener: this.deps.listener, route: at.route, cluster: at.cluster, status, steps: at.steps, durationMs });
  }
}

/**
 * One forwarded request as the pipeline follows it: the balancer's pick for every attempt (its PickContext
 * too), outlier reports, the access log's fields and the request event. One object per request, where a
 * closure, a context object, a fields object and a promise were.
 */
/** What a Forwarding follows: the pick's inputs, where the request stands, and its times. */
interface ForwardingOptions {
  readonly balancer: Balancer;
  readonly subset: Subset;
  readonly hashKey: string | undefined;
  readonly route: string;
  readonly cluster: string;
  readonly steps: readonly ChainStep[];
  readonly fallback: string | undefined;
  /** When the request started (its durations), and when forwarding did (after any wait). */
  readonly started: number;
  readonly startedAt: number;
  readonly breaker: CircuitBreaker | undefined;
}

class Forwarding implements ForwardListener, PickContext {
  exclude: ReadonlySet<Host> | undefined = undefined;
  private readonly outliers: OutlierDetector | undefined;
  /** The hosts that failed this request arrive in the exclude set, in order; `reported` of them were told. */
  private reported = 0;
  private failed: ReadonlySet<Host> | null = null;
  private last: Host | null = null;
  /** Whether this request holds a retry slot of the circuit breaker. */
  private retrying = false;

  private readonly balancer: Balancer;
  private readonly subset: Subset;
  readonly hashKey: string | undefined;
  private readonly route: string;
  private readonly cluster: string;
  private readonly steps: readonly ChainStep[];
  private readonly fallback: string | undefined;
  private readonly started: number;
  readonly startedAt: number;
  private readonly breaker: CircuitBreaker | undefined;

  constructor(private readonly deps: PipelineDeps, o: ForwardingOptions) {
    // Copied into fields of its own: one shape for every request's object, and the options literal dies young.
    this.balancer = o.balancer;
    this.subset = o.subset;
    this.hashKey = o.hashKey;
    this.route = o.route;
    this.cluster = o.cluster;
    this.steps = o.steps;
    this.fallback = o.fallback;
    this.started = o.started;
    this.startedAt = o.startedAt;
    this.breaker = o.breaker;
    this.outliers = deps.outliers?.(o.cluster);
  }

  pick(exclude: ReadonlySet<Host>): Host | null {
    const outliers = this.outliers;
    if (outliers !== undefined && exclude.size > this.reported) {
      let i = 0;
      for (const h of exclude) if (i++ >= this.reported) outliers.reportFailure(h);
      this.reported = exclude.size;
      this.failed = exclude;
    }
    // A retry (hosts already failed) needs a retry slot of the circuit breaker; without one the request
    // ends with the failure it had.
    const breaker = this.breaker;
    if (breaker !== undefined && exclude.size > 0 && !this.retrying) {
      if (!breaker.tryRetry()) return null;
      this.retrying = true;
    }
    this.exclude = exclude.size > 0 ? exclude : undefined;
    const host = this.balancer.pick(this.subset, this);
    if (host !== null) this.last = host;
    return host;
  }

  logFields(): Record<string, unknown> {
    const fields: Record<string, unknown> = { listener: this.deps.listener, route: this.route, cluster: this.cluster };
    const chain = summarize(this.steps);
    if (chain !== undefined) fields.chain = chain;
    if (this.fallback !== undefined) fields.fallback = this.fallback;
    return fields;
  }

  done(outcome: ForwardOutcome): void {
    if (this.breaker !== undefined) {
      this.breaker.release();
      if (this.retrying) this.breaker.retryDone();
    }
    const outliers = this.outliers;
    const last = this.last;
    if (outliers !== undefined && last !== null && !this.failed?.has(last)) {
      if (isHostFailure(outcome)) outliers.reportFailure(last);
      else if (outcome.error === null) outliers.reportSuccess(last);
    }
    this.deps.observe?.({ listener: this.deps.listener, route: this.route, cluster: this.cluster, status: outcome.status, steps: this.steps, durationMs: outcome.endedAt - this.started, attempts: outcome.attempts, upstreamMs: outcome.durationMs });
  }
}

/**
 * The deadline covers the whole request, waits included (docs/config.md): after a wait the forwarder gets what
 * is left of it. Only requests that waited pay for this copy.
 */
function remainingPolicy(policy: ForwardPolicy, deadlineMs: number, elapsedMs: number): ForwardPolicy {
  if (deadlineMs === 0) return policy;
  const left = Math.max(1, Math.floor(deadlineMs - elapsedMs));
  return Object.freeze({ ...policy, timeoutMs: left });
}

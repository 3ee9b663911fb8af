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
import type { ChainStep } from "../plugin/chain.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { clientOf, logAccess, type ForwardOutcome } from "../proxy/access-log.js";
import type { Forwarder } from "../proxy/forward.js";
import type { ForwardListener, ForwardPolicy } from "../proxy/policy.js";
import type { RoutingState } from "./routing.js";
import { handlerFor, HandlerStatus, type HandlerResult } from "../route/handler.js";
import { type Answer, deadlineOf, decideStopped, noConnectionInTime, noHostInTime, type Standing } from "./decision.js";
import { routeStep, type Routed } from "./route-step.js";
import { grpcStatusFor, isGrpc, writeGrpcError } from "../proxy/grpc.js";

type AvailableResult = Extract<HandlerResult, { status: HandlerStatus.Available }>;

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

/**
 * One request on its way through the pipeline's steps (decide → forward → admit → send), from the route step
 * on: the client's request and response, where it was routed, its times and its one deadline, and how long it
 * has waited (Wait verdicts, no host available, the circuit breaker). One object per request, which each step
 * takes whole.
 */
class Flight {
  /** Wait verdicts waited. */
  waits = 0;
  /** Whether time was spent waiting: the forwarder then gets what is left of the deadline. */
  waited = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly routed: Routed,
    readonly started: number,
    /**
     * The request's one deadline, in ms after `started`, for every wait and the forwarding: the route timeout,
     * or a gRPC call's grpc-timeout when that is shorter; 0: none.
     */
    readonly deadlineMs: number,
    /** A gRPC call: a wait its deadline ends is answered DEADLINE_EXCEEDED, as the forwarder answers it. */
    readonly grpc: boolean,
  ) {}

  /** Where the request stands, for the access line and the request event. */
  at(steps: readonly ChainStep[]): At {
    return { route: this.routed.match.route.label, cluster: this.routed.cluster, steps };
  }

  standing(now: number): Standing {
    return { waits: this.waits, elapsedMs: now - this.started, deadlineMs: this.deadlineMs, grpc: this.grpc };
  }
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
    const request = { method: req.method ?? "GET", path, authority, rawHeaders: req.rawHeaders };
    matching = headers;
    // The steps feed the access log's chain summary only (metrics read the plugins' counters).
    const step = routeStep(this.state, this.deps.clusters, this.deps.random, request, lookupHeader, { withSteps: this.deps.log.isLevelEnabled("warn"), dryRun: false });
    matching = null;
    switch (step.kind) {
      case "no-route":
        return this.answer(req, res, started, UNROUTED, { status: 404, body: "no route matches this request", reason: "E_NO_ROUTE" });
      case "direct":
        return this.answer(req, res, started, { route: step.route.label, cluster: null, steps: NO_STEPS }, { status: step.action.status, body: step.action.body, reason: null });
      case "no-cluster":
        return this.answer(req, res, started, { route: step.match.route.label, cluster: step.cluster, steps: NO_STEPS }, { status: 503, body: `cluster ${step.cluster} not found`, reason: "E_NO_CLUSTER" });
    }
    const grpc = isGrpc(headers["content-type"]);
    this.decide(new Flight(req, res, step, started, deadlineOf(step.match.action, grpc, headers["grpc-timeout"]), grpc));
  }

  /** Runs the route handlers; a Wait verdict, or no available host, runs them again later within the route's bounds. */
  private decide(f: Flight): void {
    const routed = f.routed;
    const action = routed.match.action;
    const chain = this.deps.registry.chainFor(action.plugins);
    const result: HandlerResult = handlerFor(chain).isAvailable(routed, this.deps.clusters);
    if (result.status === HandlerStatus.Available) return this.forward(f, result);
    const clock = this.deps.clock;
    const cluster = this.deps.clusters.get(routed.cluster);
    const at = f.at(result.steps);
    const { req, res, started } = f;
    // The same step explain takes (server/decision.ts); what follows carries it out.
    const d = decideStopped(result, action, routed.cluster, cluster?.snapshot(), f.standing(clock.now()));
    if (d.kind === "answer") return this.answer(req, res, started, at, d.answer);
    f.waited = true;
    if (d.kind === "wait") {
      f.waits++;
      // The response's 'close' (not the request's, which also fires once a body was read) says the client left.
      const onClose = () => {
        clock.clearTimeout(timer);
        this.gone(req, started, at);
      };
      const timer = clock.setTimeout(() => {
        res.off("close", onClose);
        this.decide(f);
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
        if (!left) this.decide(f);
      },
      (err: Error) => {
        res.off("close", onClose);
        if (!left) this.answer(req, res, started, at, noHostInTime(result.reason, err.message, action, f.standing(clock.now())));
      },
    );
  }

  private forward(f: Flight, kept: AvailableResult): void {
    const breaker = this.deps.breakers?.(f.routed.cluster);
    // Without a circuit breaker, no closure per request.
    if (breaker === undefined) return this.send(f, kept, undefined);
    this.admit(f, breaker, f.at(kept.steps), () => this.send(f, kept, breaker));
  }

  private send(f: Flight, kept: AvailableResult, breaker: CircuitBreaker | undefined): void {
    const routed = f.routed;
    const cluster = routed.clusterState;
    const hashHeader = cluster.settings.hashHeader;
    const hv = hashHeader === undefined ? undefined : f.req.headers[hashHeader];
    // A request that waited starts forwarding now; any other one started when routing did (microseconds ago).
    const now = f.waited ? this.deps.clock.now() : f.started;
    const forwarding = new Forwarding(this.deps, { balancer: cluster.balancer, subset: kept.subset, hashKey: Array.isArray(hv) ? hv[0] : hv, route: routed.match.route.label, cluster: routed.cluster, steps: kept.steps, fallback: kept.fallback, started: f.started, startedAt: now, breaker });
    let policy = routed.match.prepared.policies.get(routed.cluster)!;
    // The forwarder gets the request's deadline (a gRPC call's grpc-timeout when shorter), what is left of it after waits.
    if (f.waited) policy = remainingPolicy(policy, f.deadlineMs, now - f.started);
    else if (f.deadlineMs !== policy.timeoutMs) policy = Object.freeze({ ...policy, timeoutMs: f.deadlineMs });
    this.deps.forwarder.dispatch(f.req, f.res, policy, forwarding);
  }

  /** Forwards through the cluster's circuit breaker: now, after waiting for a connection, or 503 E_CIRCUIT_OPEN. */
  private admit(f: Flight, breaker: CircuitBreaker, at: At, send: () => void): void {
    const clock = this.deps.clock;
    const { req, res, started } = f;
    const policy = f.routed.match.prepared.policies.get(f.routed.cluster)!;
    let timer: TimerHandle | undefined;
    const onClose = () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      if (a.kind === "pending") a.cancel();
      this.gone(req, started, at);
    };
    const a = breaker.admit(policy.transport !== null && policy.transport.h2 !== "none", () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      res.off("close", onClose);
      f.waited = true;
      send();
    });
    if (a.kind === "go") return send();
    if (a.kind === "refused") return this.answer(req, res, started, at, { status: 503, body: `circuit breaker open: ${a.message}`, reason: "E_CIRCUIT_OPEN" });
    // Pending: until a connection frees, the client leaves, or the request's deadline passes.
    res.once("close", onClose);
    if (f.deadlineMs > 0) {
      timer = clock.setTimeout(() => {
        a.cancel();
        res.off("close", onClose);
        this.answer(req, res, started, at, noConnectionInTime(f.routed.cluster, breaker.settings.maxConnections, f.routed.match.action, f.standing(clock.now())));
      }, Math.max(1, f.deadlineMs - (clock.now() - started)));
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

/**
 * One forwarded request as the pipeline follows it: the balancer's pick for every attempt (its PickContext
 * too), outlier reports, the access log's fields and the request event. One object per request, where a
 * closure, a context object, a fields object and a promise were.
 */
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

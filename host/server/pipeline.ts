// The request path (BRIEF "The request path"): route match → cluster choice → route handlers (the plugin
// chain, with Reject / Wait verdicts and fallbacks) → the balancer over the filtered snapshot → the forwarder.
// Everything it reads per request was built when the config or a plugin changed; the state is taken once per
// request, so a swap in the middle of a request never mixes two versions.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ClusterManager } from "../cluster/cluster-manager.js";
import type { Host, RandomSource, Subset } from "../cluster/types.js";
import type { RouteAction } from "../config/types.js";
import type { ChainStep, PluginChain } from "../plugin/chain.js";
import type { PluginRegistry } from "../plugin/registry.js";
import type { Forwarder } from "../proxy/forward.js";
import { pickCluster, type RouteTable } from "../router/index.js";
import { ClusterRouteHandler, HandlerStatus, PluginRouteHandler, runHandlers, type HandlerContext, type HandlerResult, type RouteHandler } from "../route/handler.js";
import type { CompiledRoute } from "./compiled-route.js";

/** Everything a listener routes with; replaced whole on a config reload. */
export interface RoutingState {
  readonly table: RouteTable;
  readonly compiled: ReadonlyMap<RouteAction, CompiledRoute>;
}

export interface PipelineDeps {
  readonly clusters: ClusterManager;
  readonly registry: PluginRegistry;
  readonly forwarder: Forwarder;
  readonly log: Logger;
  readonly random: RandomSource;
  readonly listener: string;
  /** Observes every decision (metrics); optional. */
  readonly observe?: (event: RequestEvent) => void;
}

export interface RequestEvent {
  readonly listener: string;
  readonly route: string | null;
  readonly cluster: string | null;
  readonly status: number;
  readonly steps: readonly ChainStep[];
  readonly durationMs: number;
}

const clusterHandler = new ClusterRouteHandler();
const handlersOf = new WeakMap<PluginChain, readonly RouteHandler[]>();

function handlersFor(chain: PluginChain): readonly RouteHandler[] {
  let h = handlersOf.get(chain);
  if (h === undefined) {
    h = chain.plugins.length > 0 ? [new PluginRouteHandler(chain)] : [clusterHandler];
    handlersOf.set(chain, h);
  }
  return h;
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

export class Pipeline {
  constructor(private state: RoutingState, private readonly deps: PipelineDeps) {}

  swap(state: RoutingState): void {
    this.state = state;
  }

  get routing(): RoutingState {
    return this.state;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const state = this.state;
    const headers = req.headers;
    const authority = headers.host ?? "";
    const path = req.url ?? "/";
    const m = state.table.match(authority, path, (name) => {
      const v = headers[name];
      return Array.isArray(v) ? v.join(",") : v;
    });
    if (m === null) return this.answer(req, res, 404, "no route matches this request\n", started, null, null, [], "E_NO_ROUTE");
    const action = m.action;
    if (action.kind === "direct") return this.answer(req, res, action.status, action.body, started, m.route.where, null, [], null);
    const compiled = state.compiled.get(action);
    if (compiled === undefined) return this.answer(req, res, 500, "route not compiled\n", started, m.route.where, null, [], "E_INTERNAL");
    const choice = pickCluster(action, this.deps.random);
    const cluster = this.deps.clusters.get(choice.name);
    if (cluster === undefined) return this.answer(req, res, 503, `cluster ${choice.name} not found\n`, started, m.route.where, choice.name, [], "E_NO_CLUSTER");
    const settings = cluster.settings;
    const ctx: HandlerContext = {
      request: { method: req.method ?? "GET", path, authority, rawHeaders: req.rawHeaders },
      cluster: choice.name,
      metadataMatch: Object.keys(choice.metadataMatch).length > 0 ? choice.metadataMatch : null,
      fallback: choice.fallback,
      defaultSubset: Object.keys(settings.defaultSubset).length > 0 ? settings.defaultSubset : null,
    };
    this.decide(req, res, action, compiled, ctx, m.route.where, started, 0);
  }

  /** Runs the route handlers; a Wait verdict runs them again after the wait, within the route's bounds. */
  private decide(req: IncomingMessage, res: ServerResponse, action: RouteAction, compiled: CompiledRoute, ctx: HandlerContext, route: string, started: number, waits: number): void {
    const chain = this.deps.registry.chainFor(action.plugins);
    const result: HandlerResult = runHandlers(handlersFor(chain), ctx, this.deps.clusters);
    if (result.status === HandlerStatus.Available) return this.forward(req, res, compiled, ctx, result.subset, route, result.steps, started, result.fallback);
    if (result.status === HandlerStatus.Stop && result.verdict?.kind === "reject") {
      return this.answer(req, res, result.verdict.status, result.verdict.body, started, route, ctx.cluster, result.steps, null, result.verdict.plugin);
    }
    if (result.status === HandlerStatus.Stop && result.verdict?.kind === "wait") {
      const waitMs = result.verdict.waitMs;
      const elapsed = performance.now() - started;
      const deadline = action.timeoutMs > 0 ? action.timeoutMs : Infinity;
      if (waits >= action.waitMaxCount || elapsed + waitMs >= deadline) {
        const why = waits >= action.waitMaxCount ? `still waiting after ${waits} waits (wait.max_count)` : "the wait would pass the route timeout";
        return this.answer(req, res, 503, `plugin ${result.verdict.plugin} asked to wait: ${why}\n`, started, route, ctx.cluster, result.steps, "E_WAIT_EXHAUSTED", result.verdict.plugin);
      }
      const timer = setTimeout(() => {
        req.off("close", onClose);
        this.decide(req, res, action, compiled, ctx, route, started, waits + 1);
      }, waitMs);
      const onClose = () => clearTimeout(timer); // the client went away while waiting
      req.once("close", onClose);
      return;
    }
    if (result.status === HandlerStatus.Stop && "failure" in result && result.failure !== undefined) {
      return this.answer(req, res, 503, `routing failed: plugin ${result.failure.plugin} failed and its policy is fail-closed\n`, started, route, ctx.cluster, result.steps, result.failure.code, result.failure.plugin);
    }
    return this.answer(req, res, 503, `${result.reason}\n`, started, route, ctx.cluster, result.steps, "E_NO_HOST");
  }

  private forward(req: IncomingMessage, res: ServerResponse, compiled: CompiledRoute, ctx: HandlerContext, subset: Subset, route: string, steps: readonly ChainStep[], started: number, fallback: string | undefined): void {
    const cluster = this.deps.clusters.get(ctx.cluster)!;
    const balancer = cluster.balancer;
    const hashHeader = cluster.settings.hashHeader;
    const hv = hashHeader === undefined ? undefined : req.headers[hashHeader];
    const pickCtx = { hashKey: Array.isArray(hv) ? hv[0] : hv, exclude: undefined as ReadonlySet<Host> | undefined };
    const fields: Record<string, unknown> = { listener: this.deps.listener, route, cluster: ctx.cluster };
    const chain = summarize(steps);
    if (chain !== undefined) fields.chain = chain;
    if (fallback !== undefined) fields.fallback = fallback;
    const observe = this.deps.observe;
    void this.deps.forwarder
      .forward(req, res, compiled.policy, {
        pick(exclude) {
          pickCtx.exclude = exclude.size > 0 ? exclude : undefined;
          return balancer.pick(subset, pickCtx);
        },
      }, fields)
      .then((outcome) => {
        observe?.({ listener: this.deps.listener, route, cluster: ctx.cluster, status: outcome.status, steps, durationMs: performance.now() - started });
      });
  }

  private answer(req: IncomingMessage, res: ServerResponse, status: number, body: string, started: number, route: string | null, cluster: string | null, steps: readonly ChainStep[], reason: string | null, plugin?: string): void {
    if (!res.headersSent) {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) });
      res.end(body);
    }
    // The request body, if any, is not wanted: drain it so that the connection can be reused.
    if (!req.complete) req.resume();
    const durationMs = performance.now() - started;
    const log = this.deps.log;
    const level = status >= 500 ? "warn" : "info";
    if (log.isLevelEnabled(level)) {
      const line: Record<string, unknown> = { listener: this.deps.listener, route, cluster, method: req.method, path: req.url, status, durationMs: Math.round(durationMs * 1000) / 1000, upstream: null, attempts: 0 };
      const chain = summarize(steps);
      if (chain !== undefined) line.chain = chain;
      if (reason !== null) line.reason = reason;
      if (plugin !== undefined) line.plugin = plugin;
      log[level](line, "request");
    }
    this.deps.observe?.({ listener: this.deps.listener, route, cluster, status, steps, durationMs });
  }
}

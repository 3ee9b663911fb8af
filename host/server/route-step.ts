// The request path's first step, taken by the pipeline (server/pipeline.ts) and by explain (explain/explain.ts)
// alike: the route the request matches, the cluster it goes to (weighted_clusters: chosen with the injected
// randomness), and the route handler's context for that cluster. Nothing here answers or forwards; each caller
// does what the step says its own way (the pipeline answers the client, explain describes it).

import type { Cluster } from "../cluster/cluster.js";
import type { ClusterManager } from "../cluster/cluster-manager.js";
import type { RandomSource } from "../cluster/types.js";
import type { RequestParts } from "../abi/codec.js";
import type { DirectResponse, RouteConfig } from "../config/types.js";
import type { HeaderLookup, RouteMatch } from "../router/index.js";
import { pickCluster } from "../router/index.js";
import type { HandlerContext } from "../route/handler.js";
import type { CompiledRoute } from "./compiled-route.js";
import type { RoutingState } from "./routing.js";

/** The matched entry of a route that forwards, as the route table holds it (built once per config). */
export type ForwardMatch = Extract<RouteMatch<CompiledRoute>, { kind: "route" }>;

/**
 * A request routed to a cluster that exists: the handler context the route handler runs with (HandlerContext),
 * the match it came from and the cluster itself. One object per request, the context and the step at once.
 */
export interface Routed extends HandlerContext {
  readonly kind: "handle";
  readonly match: ForwardMatch;
  readonly clusterState: Cluster;
}

export type RouteStep =
  | { readonly kind: "no-route" }
  | { readonly kind: "direct"; readonly route: RouteConfig; readonly virtualHost: string; readonly action: DirectResponse }
  /** The route's cluster is not in the cluster manager (a route may name one that comes later). */
  | { readonly kind: "no-cluster"; readonly match: ForwardMatch; readonly cluster: string }
  | Routed;

const NO_ROUTE: RouteStep = Object.freeze({ kind: "no-route" });

/** A tags map with no key (config maps are frozen and small: no Object.keys array per request). */
function isEmpty(tags: Readonly<Record<string, string>>): boolean {
  for (const _ in tags) return false;
  return true;
}

export interface RouteStepOptions {
  /** Whether the handler's result must carry the chain's steps (HandlerContext.withSteps). */
  readonly withSteps: boolean;
  /** A dry run: the chain moves no counter (HandlerContext.dryRun; explain). */
  readonly dryRun: boolean;
}

/**
 * Routes `request`: its authority and path (absolute form already split) through `routing`'s table, the header
 * lookup reading the request's lowercase names; then the cluster choice of the matched route among `clusters`.
 */
export function routeStep(routing: RoutingState, clusters: ClusterManager, random: RandomSource, request: RequestParts, headers: HeaderLookup, o: RouteStepOptions): RouteStep {
  const m = routing.table.match(request.authority, request.path, headers);
  if (m === null) return NO_ROUTE;
  if (m.kind === "direct") return { kind: "direct", route: m.route, virtualHost: m.virtualHost, action: m.action };
  const choice = pickCluster(m.action, random);
  const cluster = clusters.get(choice.name);
  if (cluster === undefined) return { kind: "no-cluster", match: m, cluster: choice.name };
  const defaultSubset = cluster.settings.defaultSubset;
  return {
    kind: "handle",
    request,
    cluster: choice.name,
    metadataMatch: isEmpty(choice.metadataMatch) ? null : choice.metadataMatch,
    fallback: choice.fallback,
    defaultSubset: isEmpty(defaultSubset) ? null : defaultSubset,
    withSteps: o.withSteps,
    dryRun: o.dryRun,
    match: m,
    clusterState: cluster,
  };
}

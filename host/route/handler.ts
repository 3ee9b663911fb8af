// MOSN's RouteHandler adaptor: a route handler answers IsAvailable(ctx, clusterManager) with a
// (snapshot, status) pair: Available routes to the (filtered) snapshot, Stop fails the request now,
// NotAvailable says the cluster is not there. The plugin handler runs the plugin chain over the request and
// the cluster's snapshot and applies the route's fallback when the chain keeps nothing; a route without
// plugins has the cluster handler. A route has one handler: MOSN's chain of them ran a second only when the
// first was NotAvailable, which here means no cluster, where every handler is NotAvailable too, so the chain
// (runHandlers, always of one) went (issue 17).

import type { Fallback } from "../cluster/cluster-config.js";
import type { ClusterSnapshot, Subset } from "../cluster/types.js";
import type { RequestParts } from "../abi/codec.js";
import { NO_STEPS, type ChainDecision, type ChainStep, type PluginChain } from "../plugin/chain.js";
import type { PluginFailure } from "../plugin/errors.js";

export const enum HandlerStatus {
  Available = 0,
  NotAvailable = 1,
  Stop = 2,
}


/** The part of a cluster manager a handler needs: MOSN's GetClusterSnapshot. */
export interface SnapshotSource {
  getClusterSnapshot(cluster: string): ClusterSnapshot | undefined;
}

export interface HandlerContext {
  readonly request: RequestParts;
  readonly cluster: string;
  /** Route metadata_match: tags every chosen host must carry (MOSN's subset LB). */
  readonly metadataMatch: Readonly<Record<string, string>> | null;
  readonly fallback: Fallback;
  /** The cluster's default subset, for fallback "default". */
  readonly defaultSubset: Readonly<Record<string, string>> | null;
  /** Whether the result must carry the chain's steps (an access log line may be written); true if absent. */
  readonly withSteps?: boolean;
  /** A dry run (explain): the chain moves no counter and never counts a failure (PluginChain.run). */
  readonly dryRun?: boolean;
}

export type HandlerResult =
  | { readonly status: HandlerStatus.Available; readonly subset: Subset; readonly steps: readonly ChainStep[]; readonly fallback?: Fallback }
  | { readonly status: HandlerStatus.NotAvailable; readonly reason: string; readonly steps: readonly ChainStep[] }
  | {
      readonly status: HandlerStatus.Stop;
      readonly reason: string;
      readonly steps: readonly ChainStep[];
      /** A plugin's verdict that ends the request: reject answers now, wait decides again later. */
      readonly verdict?: { readonly kind: "reject"; readonly status: number; readonly body: string; readonly grpcStatus: number | null; readonly plugin: string } | { readonly kind: "wait"; readonly waitMs: number; readonly plugin: string };
      readonly failure?: PluginFailure;
    };

export interface RouteHandler {
  isAvailable(ctx: HandlerContext, clusters: SnapshotSource): HandlerResult;
}


/** Keeps the hosts of `subset` that carry every tag of `match`. */
export function narrowByTags(subset: Subset, match: Readonly<Record<string, string>>): Subset {
  const hosts = subset.snapshot.hosts;
  const keys = Object.keys(match);
  if (keys.length === 0) return subset;
  const out = new Uint32Array(subset.count);
  let n = 0;
  for (let i = 0; i < subset.count; i++) {
    const idx = subset.indices === null ? i : subset.indices[i]!;
    const tags = hosts[idx]!.tags;
    let ok = true;
    for (const k of keys) if (tags[k] !== match[k]) { ok = false; break; }
    if (ok) out[n++] = idx;
  }
  return { snapshot: subset.snapshot, indices: out.subarray(0, n), count: n };
}

function wholeCluster(snapshot: ClusterSnapshot): Subset {
  return { snapshot, indices: null, count: snapshot.hosts.length };
}

// The whole cluster narrowed by a config's tags (a route's metadata_match, a cluster's default_subset) is
// the same for every request of one snapshot: built once per (snapshot, tags), not per request. Both keys
// are immutable and weakly held, so a new snapshot or a reloaded config simply starts afresh.
const narrowed = new WeakMap<ClusterSnapshot, WeakMap<Readonly<Record<string, string>>, Subset>>();

function clusterWithTags(snapshot: ClusterSnapshot, match: Readonly<Record<string, string>>): Subset {
  let bySnapshot = narrowed.get(snapshot);
  if (bySnapshot === undefined) {
    bySnapshot = new WeakMap();
    narrowed.set(snapshot, bySnapshot);
  }
  let subset = bySnapshot.get(match);
  if (subset === undefined) {
    subset = narrowByTags(wholeCluster(snapshot), match);
    bySnapshot.set(match, subset);
  }
  return subset;
}

/** The plugin handler: the chain of router plugins over the cluster's snapshot. */
class PluginRouteHandler implements RouteHandler {
  constructor(private readonly chain: PluginChain) {}

  isAvailable(ctx: HandlerContext, clusters: SnapshotSource): HandlerResult {
    const snapshot = clusters.getClusterSnapshot(ctx.cluster);
    if (snapshot === undefined) return { status: HandlerStatus.NotAvailable, reason: `cluster ${ctx.cluster} not found`, steps: NO_STEPS };
    const d: ChainDecision = this.chain.run(ctx.request, snapshot, ctx.withSteps !== false, ctx.dryRun === true);
    switch (d.outcome) {
      case "reject":
        return { status: HandlerStatus.Stop, reason: `rejected by plugin ${d.plugin}`, steps: d.steps, verdict: { kind: "reject", status: d.status, body: d.body, grpcStatus: d.grpcStatus, plugin: d.plugin } };
      case "wait":
        return { status: HandlerStatus.Stop, reason: `plugin ${d.plugin} asked to wait ${d.waitMs} ms`, steps: d.steps, verdict: { kind: "wait", waitMs: d.waitMs, plugin: d.plugin } };
      case "fail":
        return { status: HandlerStatus.Stop, reason: d.failure.message, steps: d.steps, failure: d.failure };
      case "accept": {
        const m = ctx.metadataMatch;
        const subset = m === null ? d.subset : d.subset.indices === null ? clusterWithTags(snapshot, m) : narrowByTags(d.subset, m);
        if (subset.count > 0) return { status: HandlerStatus.Available, subset, steps: d.steps };
        return applyFallback(ctx, snapshot, d.steps);
      }
    }
  }
}

/** The handler for routes without plugins: the cluster, narrowed by the route's metadata_match. */
class ClusterRouteHandler implements RouteHandler {
  isAvailable(ctx: HandlerContext, clusters: SnapshotSource): HandlerResult {
    const snapshot = clusters.getClusterSnapshot(ctx.cluster);
    if (snapshot === undefined) return { status: HandlerStatus.NotAvailable, reason: `cluster ${ctx.cluster} not found`, steps: NO_STEPS };
    const subset = ctx.metadataMatch ? clusterWithTags(snapshot, ctx.metadataMatch) : wholeCluster(snapshot);
    if (subset.count > 0) return { status: HandlerStatus.Available, subset, steps: NO_STEPS };
    return applyFallback(ctx, snapshot, NO_STEPS);
  }
}

function applyFallback(ctx: HandlerContext, snapshot: ClusterSnapshot, steps: readonly ChainStep[]): HandlerResult {
  if (ctx.fallback === "any" && snapshot.hosts.length > 0) {
    return { status: HandlerStatus.Available, subset: wholeCluster(snapshot), steps, fallback: "any" };
  }
  if (ctx.fallback === "default" && ctx.defaultSubset !== null) {
    const subset = clusterWithTags(snapshot, ctx.defaultSubset);
    if (subset.count > 0) return { status: HandlerStatus.Available, subset, steps, fallback: "default" };
  }
  return { status: HandlerStatus.Stop, reason: `no host left for cluster ${ctx.cluster} (fallback ${ctx.fallback}${fallbackWhy(ctx, snapshot)})`, steps };
}

/** Why a fallback found nothing, when it is not plain: built only on the failure path. */
function fallbackWhy(ctx: HandlerContext, snapshot: ClusterSnapshot): string {
  if (snapshot.hosts.length === 0) return ": the cluster has no host";
  if (ctx.fallback !== "default") return "";
  if (ctx.defaultSubset === null) return ": the cluster has no lb_subset_config.default_subset";
  return `: no host carries the default_subset ${JSON.stringify(ctx.defaultSubset)}`;
}

const clusterHandler = new ClusterRouteHandler();
const handlerOf = new WeakMap<PluginChain, RouteHandler>();

/** The handler a route with `chain` runs (the pipeline and explain alike), made once per chain. */
export function handlerFor(chain: PluginChain): RouteHandler {
  let h = handlerOf.get(chain);
  if (h === undefined) {
    h = chain.plugins.length > 0 ? new PluginRouteHandler(chain) : clusterHandler;
    handlerOf.set(chain, h);
  }
  return h;
}

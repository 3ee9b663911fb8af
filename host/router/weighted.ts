// weighted_clusters: choose one cluster in proportion to its weight, with injected randomness so that
// tests can use tables of expected picks.

import type { RandomSource } from "../cluster/types.js";
import type { ClusterChoice, RouteAction } from "../config/types.js";

/**
 * The cluster a request goes to. With a single cluster_name the random source is not called.
 *
 * @example
 * pickCluster(action, Math.random).name // "canary" about weight/totalWeight of the time
 */
export function pickCluster(action: RouteAction, random: RandomSource): ClusterChoice {
  const clusters = action.clusters;
  if (clusters.length === 1) return clusters[0]!;
  // Linear over a handful of clusters is cheaper than a binary search's bookkeeping and allocates nothing.
  let point = random() * action.totalWeight;
  for (let i = 0; i < clusters.length; i++) {
    const c = clusters[i]!;
    if (point < c.weight) return c;
    point -= c.weight;
  }
  // A random source returning exactly 1 (or float error) lands past the end: give the last cluster.
  return clusters[clusters.length - 1]!;
}

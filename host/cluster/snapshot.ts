// Snapshots: frozen, numbered views of a cluster's host list.

import type { ClusterSnapshot, Host } from "./types.js";

// Process-wide so that an id never names two snapshots, even of different clusters: per-snapshot caches
// (plugin host tables, balancer rings) key on it.
let lastId = 0;

export function makeSnapshot(cluster: string, version: number, hosts: readonly Host[]): ClusterSnapshot {
  if (!Object.isFrozen(hosts)) throw new Error("makeSnapshot: the hosts array must be frozen");
  return Object.freeze({ cluster, version, id: ++lastId, hosts });
}

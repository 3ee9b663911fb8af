// All clusters by name (MOSN's ClusterManager). The map is swapped whole on every change, so a reader
// that took a cluster or a snapshot keeps a consistent view while a push is applied.

import { Cluster, PreparedCluster, type ClusterOptions } from "./cluster.js";
import type { ClusterInput } from "./cluster-config.js";
import { ClusterConfigError, ClusterExistsError, ClusterNotFoundError } from "./errors.js";
import { Listeners } from "./listeners.js";
import type { ClusterSnapshot, Host } from "./types.js";

/**
 * @example
 * const clusters = new ClusterManager({ random: Math.random });
 * clusters.onHostsRemoved((cluster, hosts) => forwarder.drain(hosts));
 * clusters.add({ name: "api", lbPolicy: "LB_ROUNDROBIN", hosts: [{ address: "127.0.0.1:9000", weight: 1, tags: {} }] });
 * const snap = clusters.getClusterSnapshot("api");
 */
export class ClusterManager {
  private clusters: ReadonlyMap<string, Cluster> = new Map();
  private readonly hostsRemoved: Listeners<[string, readonly Host[]]>;

  constructor(private readonly options: ClusterOptions = {}) {
    this.hostsRemoved = new Listeners(options.onListenerError);
  }

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  names(): string[] {
    return [...this.clusters.keys()];
  }

  /** The current snapshot of a cluster; throws E_CLUSTER_NOT_FOUND. */
  snapshot(name: string): ClusterSnapshot {
    const cluster = this.clusters.get(name);
    if (cluster === undefined) throw new ClusterNotFoundError(name);
    return cluster.snapshot();
  }

  /** MOSN's name: the current snapshot of a cluster, or undefined when there is no such cluster. */
  getClusterSnapshot(name: string): ClusterSnapshot | undefined {
    return this.clusters.get(name)?.snapshot();
  }

  /** Hosts removed from any cluster, including every host of a removed cluster. */
  onHostsRemoved(cb: (cluster: string, hosts: readonly Host[]) => void): () => void {
    return this.hostsRemoved.add(cb);
  }

  /** Adds a new cluster; throws E_CLUSTER_EXISTS, or a validation error, and then changes nothing. */
  add(config: ClusterInput | PreparedCluster): Cluster {
    const prepared = config instanceof PreparedCluster ? config : PreparedCluster.from(config);
    if (this.clusters.has(prepared.settings.name)) throw new ClusterExistsError(prepared.settings.name);
    const cluster = this.create(prepared);
    this.clusters = new Map([...this.clusters, [cluster.name, cluster]]);
    return cluster;
  }

  /** Gives an existing cluster new settings and hosts (kept hosts keep their state); throws E_CLUSTER_NOT_FOUND. */
  replace(config: ClusterInput | PreparedCluster): Cluster {
    const prepared = config instanceof PreparedCluster ? config : PreparedCluster.from(config);
    const cluster = this.clusters.get(prepared.settings.name);
    if (cluster === undefined) throw new ClusterNotFoundError(prepared.settings.name);
    cluster.reconfigure(prepared);
    return cluster;
  }

  /** Removes a cluster: its hosts are reported removed. Returns whether it existed. */
  remove(name: string): boolean {
    const cluster = this.clusters.get(name);
    if (cluster === undefined) return false;
    const next = new Map(this.clusters);
    next.delete(name);
    this.clusters = next;
    cluster.close();
    return true;
  }

  /**
   * Makes the set of clusters exactly `configs` (a whole config push): every config is validated before
   * anything changes; clusters that stay keep their hosts' state; clusters not named are removed.
   */
  replaceAll(configs: ReadonlyArray<ClusterInput | PreparedCluster>): void {
    if (!Array.isArray(configs)) throw new ClusterConfigError("?", "clusters", "expected an array of clusters");
    const prepared: PreparedCluster[] = [];
    const seen = new Map<string, number>();
    configs.forEach((config, i) => {
      const p = config instanceof PreparedCluster ? config : PreparedCluster.from(config);
      const first = seen.get(p.settings.name);
      if (first !== undefined) throw new ClusterConfigError(p.settings.name, `clusters[${i}].name`, `already given at clusters[${first}]`);
      seen.set(p.settings.name, i);
      prepared.push(p);
    });
    const next = new Map<string, Cluster>();
    for (const p of prepared) {
      const existing = this.clusters.get(p.settings.name);
      if (existing !== undefined) existing.reconfigure(p);
      next.set(p.settings.name, existing ?? this.create(p));
    }
    const gone = [...this.clusters.values()].filter((c) => !next.has(c.name));
    this.clusters = next;
    for (const c of gone) c.close();
  }

  private create(prepared: PreparedCluster): Cluster {
    const cluster = new Cluster(prepared, this.options);
    cluster.onRemoved((hosts) => this.hostsRemoved.emit(cluster.name, hosts));
    return cluster;
  }
}

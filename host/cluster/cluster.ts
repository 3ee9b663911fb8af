// A cluster: settings plus the host list it owns (yarpc's abstractlist, go-kit's endpoint cache). Every
// change is validated, built aside and swapped in whole as a new frozen snapshot.

import { validateClusterSettings, type ClusterInput, type ClusterSettings } from "./cluster-config.js";
import { ClusterClosedError, ClusterConfigError } from "./errors.js";
import { setImmediate } from "node:timers/promises";
import { HOST_SLICE, isValidatedHostList, sameSpec, validateHostSpecs, validateHostSpecsInSlices } from "./host-spec.js";
import { MutableHost, type HostSubscriber } from "./host.js";
import { createBalancer } from "./lb/index.js";
import { Listeners, type ErrorSink } from "./listeners.js";
import { makeSnapshot } from "./snapshot.js";
import type { Balancer, ClusterSnapshot, Host, HostSpec, HostStatus, RandomSource } from "./types.js";

export interface ClusterOptions {
  /** Randomness for the balancer. Defaults to Math.random: this is the composition point, not a strategy. */
  readonly random?: RandomSource;
  /** Where a throwing listener's error goes (default: a process warning). */
  readonly onListenerError?: ErrorSink;
}

/** A cluster config checked in full and frozen, ready to create or reconfigure a cluster. */
export class PreparedCluster {
  private constructor(
    readonly settings: ClusterSettings,
    readonly hosts: readonly HostSpec[],
  ) {}

  /** Validates everything; throws E_CLUSTER_INVALID, E_HOST_INVALID, E_HOST_DUPLICATE, E_CLUSTER_TOO_MANY_HOSTS. */
  static from(config: unknown): PreparedCluster {
    const settings = validateClusterSettings(config);
    const hosts = validateHostSpecs(settings.name, (config as { hosts?: unknown }).hosts ?? []);
    return new PreparedCluster(settings, hosts);
  }
}

interface State {
  readonly settings: ClusterSettings;
  readonly balancer: Balancer;
  readonly snapshot: ClusterSnapshot;
  readonly specs: readonly HostSpec[];
  readonly byAddress: ReadonlyMap<string, MutableHost>;
}

/**
 * @example
 * const cluster = new Cluster({ name: "api", lbPolicy: "round_robin", hosts: [{ address: "127.0.10.1:80", weight: 1, tags: {} }] });
 * cluster.onRemoved((hosts) => hosts.forEach(closePoolWhenIdle));
 * cluster.update([{ address: "127.0.10.2:80", weight: 1, tags: { zone: "a" } }]); // version 2
 * const snap = cluster.snapshot();
 * const host = cluster.balancer.pick({ snapshot: snap, indices: null, count: snap.hosts.length }, {});
 */
export class Cluster implements HostSubscriber {
  private state: State;
  private closed = false;
  private readonly random: RandomSource;
  private readonly removedListeners: Listeners<[readonly Host[]]>;
  private readonly snapshotListeners: Listeners<[ClusterSnapshot]>;
  private readonly statusListeners: Listeners<[MutableHost, HostStatus]>;

  constructor(config: ClusterInput | PreparedCluster, options: ClusterOptions = {}) {
    const prepared = config instanceof PreparedCluster ? config : PreparedCluster.from(config);
    this.random = options.random ?? Math.random;
    this.removedListeners = new Listeners(options.onListenerError);
    this.snapshotListeners = new Listeners(options.onListenerError);
    this.statusListeners = new Listeners(options.onListenerError);
    const { settings } = prepared;
    const hosts = prepared.hosts.map((spec) => new MutableHost(spec));
    for (const h of hosts) h.subscribe(this);
    this.state = {
      settings,
      balancer: this.makeBalancer(settings),
      snapshot: makeSnapshot(settings.name, 1, Object.freeze(hosts)),
      specs: prepared.hosts,
      byAddress: new Map(hosts.map((h) => [h.address, h])),
    };
  }

  get name(): string {
    return this.state.settings.name;
  }

  get settings(): ClusterSettings {
    return this.state.settings;
  }

  /** The balancer of the current lb policy; it keeps its per-subset state across snapshots. */
  get balancer(): Balancer {
    return this.state.balancer;
  }

  /** The current snapshot. Hold it for the whole of one routing decision. */
  snapshot(): ClusterSnapshot {
    return this.state.snapshot;
  }

  /** The host list as last given (validated and frozen), for comparing a new list with it. */
  get specs(): readonly HostSpec[] {
    return this.state.specs;
  }

  /** The host of the current list with this exact address. */
  host(address: string): MutableHost | undefined {
    return this.state.byAddress.get(address);
  }

  /**
   * Replaces the host list. Hosts whose address stays keep their object (pending counts, status and
   * outlier state survive); removed hosts go to onRemoved listeners. An identical list changes nothing
   * and returns the current snapshot.
   */
  update(specs: readonly HostSpec[]): ClusterSnapshot {
    this.assertOpen();
    const validated = isValidatedHostList(specs) ? specs : validateHostSpecs(this.name, specs);
    this.swap(this.state.settings, this.state.balancer, validated);
    return this.state.snapshot;
  }

  /**
   * update, without stalling the event loop on a long list: validates and builds the new host list aside in
   * slices of HOST_SLICE specs, yielding between them, then swaps it in in one step. Requests routed
   * meanwhile see the old snapshot whole. Callers apply concurrent updates one after the other (host/server/
   * host.ts clusterExclusive); should a synchronous update land meanwhile, the build is redone at the swap.
   */
  async updateInSlices(specs: readonly HostSpec[]): Promise<ClusterSnapshot> {
    this.assertOpen();
    const validated = isValidatedHostList(specs) ? specs : await validateHostSpecsInSlices(this.name, specs);
    const base = this.state;
    if (sameSpecs(base.specs, validated)) return this.snapshot();
    const built: Built = { hosts: [], byAddress: new Map(), reused: [] };
    for (let from = 0; from < validated.length; from += HOST_SLICE) {
      if (from > 0) await setImmediate();
      buildHosts(base.byAddress, validated, from, Math.min(validated.length, from + HOST_SLICE), built);
    }
    this.assertOpen();
    if (this.state.specs !== base.specs) this.swap(this.state.settings, this.state.balancer, validated);
    else this.commit(this.state.settings, this.state.balancer, validated, built);
    return this.state.snapshot;
  }

  /** Applies new settings and hosts together; the name must stay. Builds a new balancer if its policy changed. */
  reconfigure(config: ClusterInput | PreparedCluster): ClusterSnapshot {
    this.assertOpen();
    const prepared = config instanceof PreparedCluster ? config : PreparedCluster.from(config);
    const { settings } = prepared;
    if (settings.name !== this.name) throw new ClusterConfigError(this.name, "name", `cannot rename to "${settings.name}"`);
    const old = this.state.settings;
    const balancer =
      settings.lbPolicy === old.lbPolicy && settings.hashReplicas === old.hashReplicas ? this.state.balancer : this.makeBalancer(settings);
    this.swap(settings, balancer, prepared.hosts);
    return this.state.snapshot;
  }

  /** Called with the hosts an update removed, after the new snapshot is in place. Returns an unsubscribe. */
  onRemoved(cb: (hosts: readonly Host[]) => void): () => void {
    return this.removedListeners.add(cb);
  }

  /** Called with every new snapshot (host list or health change). */
  onSnapshot(cb: (snapshot: ClusterSnapshot) => void): () => void {
    return this.snapshotListeners.add(cb);
  }

  /** Called when a host of the current list changes connection status. */
  onStatusChange(cb: (host: MutableHost, previous: HostStatus) => void): () => void {
    return this.statusListeners.add(cb);
  }

  /** Detaches every host and reports them all removed; later updates throw E_CLUSTER_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const hosts = this.state.snapshot.hosts;
    for (const h of hosts) (h as MutableHost).retire();
    if (hosts.length > 0) this.removedListeners.emit(hosts);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  hostStatusChanged(host: MutableHost, previous: HostStatus): void {
    if (this.state.byAddress.get(host.address) === host) this.statusListeners.emit(host, previous);
  }

  // Health is part of what plugins see, so a flip makes a new snapshot. It reuses the frozen hosts array:
  // O(1), and balancer state keyed on the array survives.
  hostHealthChanged(host: MutableHost): void {
    const s = this.state;
    if (this.closed || s.byAddress.get(host.address) !== host) return;
    const snapshot = makeSnapshot(s.settings.name, s.snapshot.version + 1, s.snapshot.hosts);
    this.state = { ...s, snapshot };
    this.snapshotListeners.emit(snapshot);
  }

  private swap(settings: ClusterSettings, balancer: Balancer, specs: readonly HostSpec[]): void {
    const old = this.state;
    if (sameSpecs(old.specs, specs)) {
      if (settings !== old.settings) this.state = { ...old, settings, balancer };
      return;
    }
    // Build aside: nothing below touches live state until the assignment to this.state.
    const built: Built = { hosts: [], byAddress: new Map(), reused: [] };
    buildHosts(old.byAddress, specs, 0, specs.length, built);
    this.commit(settings, balancer, specs, built);
  }

  /** Swaps in a host list built aside from the current one's hosts (buildHosts over this.state.byAddress). */
  private commit(settings: ClusterSettings, balancer: Balancer, specs: readonly HostSpec[], built: Built): void {
    const old = this.state;
    const { hosts, byAddress, reused } = built;
    const removed: MutableHost[] = [];
    for (const h of old.snapshot.hosts as readonly MutableHost[]) if (byAddress.get(h.address) !== h) removed.push(h);
    const snapshot = makeSnapshot(settings.name, old.snapshot.version + 1, Object.freeze(hosts));

    // Swap.
    for (const [host, spec] of reused) host.applySpec(spec);
    for (const h of removed) h.retire();
    for (const h of hosts) h.subscribe(this);
    this.state = { settings, balancer, snapshot, specs, byAddress };

    this.snapshotListeners.emit(snapshot);
    if (removed.length > 0) this.removedListeners.emit(Object.freeze(removed));
  }

  /**
   * A balancer of this cluster's policy with none of the live one's state (round-robin cursors, EDF heaps):
   * what a dry run (explain) picks with, so that it moves nothing the next request would see.
   */
  dryRunBalancer(random: RandomSource = this.random): Balancer {
    const settings = this.state.settings;
    return createBalancer(settings.lbPolicy, { random, hashReplicas: settings.hashReplicas });
  }

  private makeBalancer(settings: ClusterSettings): Balancer {
    return createBalancer(settings.lbPolicy, { random: this.random, hashReplicas: settings.hashReplicas });
  }

  private assertOpen(): void {
    if (this.closed) throw new ClusterClosedError(this.name);
  }
}

/** A host list being built aside: hosts that stay keep their object (and its live state). */
interface Built {
  readonly hosts: MutableHost[];
  readonly byAddress: Map<string, MutableHost>;
  readonly reused: Array<[MutableHost, HostSpec]>;
}

function buildHosts(current: ReadonlyMap<string, MutableHost>, specs: readonly HostSpec[], from: number, to: number, into: Built): void {
  for (let i = from; i < to; i++) {
    const spec = specs[i]!;
    const kept = current.get(spec.address);
    const host = kept ?? new MutableHost(spec);
    if (kept !== undefined && kept.currentSpec !== spec) into.reused.push([kept, spec]);
    into.hosts.push(host);
    into.byAddress.set(spec.address, host);
  }
}

/** Whether two validated host lists say the same thing, host by host in order. */
export function sameSpecs(a: readonly HostSpec[], b: readonly HostSpec[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameSpec(a[i]!, b[i]!)) return false;
  return true;
}

// The shared vocabulary of clusters, snapshots, subsets and balancers. Everything that routes a request
// (the plugin chain, the route handlers, the balancers, the forwarder) speaks these types.

/** Connection status of one host, as yarpc's peer.ConnectionStatus. */
export const enum HostStatus {
  Unavailable = 0,
  Connecting = 1,
  Available = 2,
}

/** What a config or a push says about one host. Immutable once validated. */
export interface HostSpec {
  readonly address: string; // "ip:port" or "name:port"
  readonly hostname?: string;
  readonly weight: number; // 1 .. MAX_WEIGHT
  readonly tags: Readonly<Record<string, string>>; // zone, version, env, …
  readonly healthy?: boolean; // default true
}

/**
 * One upstream instance. The object lives as long as the address stays in its cluster, across snapshots,
 * so that pending counts, connection status and outlier state survive a host-list update.
 */
export interface Host {
  readonly address: string;
  readonly hostname: string | undefined;
  readonly weight: number;
  readonly tags: Readonly<Record<string, string>>;
  /** Health as configured or as found by health checks / outlier detection. */
  readonly healthy: boolean;
  readonly status: HostStatus;
  /** Requests sent to this host and not finished yet. */
  readonly pending: number;
}

/** An immutable view of a cluster at one version. Every change makes a new snapshot. */
export interface ClusterSnapshot {
  readonly cluster: string;
  /** Increases by one on every change of the cluster's host list. */
  readonly version: number;
  /** Unique per process for this (cluster, version); keys per-snapshot caches such as plugin host tables. */
  readonly id: number;
  readonly hosts: readonly Host[];
}

/**
 * A subset of a snapshot's hosts: indices into snapshot.hosts in increasing order, or every host when
 * indices is null. Chains and balancers pass subsets, never copies of hosts.
 */
export interface Subset {
  readonly snapshot: ClusterSnapshot;
  readonly indices: Uint32Array | null;
  readonly count: number;
}

/** What a balancer may use of the request to choose. */
export interface PickContext {
  /** For ring hash / maglev: the value of the configured hash header, or undefined. */
  readonly hashKey?: string | undefined;
  /** Hosts that already failed this request (retries avoid them). */
  readonly exclude?: ReadonlySet<Host> | undefined;
}

/** A load-balancing strategy: only chooses; the cluster's host list owns membership and health. */
export interface Balancer {
  pick(subset: Subset, ctx: PickContext): Host | null;
}

/** Randomness is injected so that balancers can be tested with tables of expected picks. */
export type RandomSource = () => number; // uniform in [0, 1)

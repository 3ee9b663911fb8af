// One upstream instance with the state that must outlive host-list updates: pending requests,
// connection status and health (yarpc's peer.Peer + peer.Status).

import { HostStatus, type Host, type HostSpec } from "./types.js";

/** Who said a host is unhealthy. A host is healthy only when no source says otherwise. */
export type HealthSource = "config" | "outlier" | "active";

const HEALTH_BIT: Record<HealthSource, number> = { config: 1, outlier: 2, active: 4 };

/** Told of a host's changes; the cluster that holds the host (yarpc's peer.Subscriber). */
export interface HostSubscriber {
  hostStatusChanged(host: MutableHost, previous: HostStatus): void;
  hostHealthChanged(host: MutableHost): void;
}

/**
 * A host as the cluster keeps it. Address never changes; weight, tags and hostname change only when the
 * cluster swaps in a new snapshot (`applySpec`); pending, status and health change live.
 *
 * New hosts start Available: a fresh cluster routes at once, and the forwarder marks a host Unavailable
 * when a connect fails (then Connecting / Available as it retries).
 *
 * @example
 * const h = new MutableHost({ address: "127.0.10.1:8080", weight: 1, tags: {} });
 * h.onStart(); // a request goes out
 * h.onFinish(); // it came back
 */
export class MutableHost implements Host {
  readonly address: string;
  private spec: HostSpec;
  private unhealthyBits: number;
  private currentStatus = HostStatus.Available;
  private pendingCount = 0;
  private subscriber: HostSubscriber | null = null;
  private left = false;

  constructor(spec: HostSpec) {
    this.address = spec.address;
    this.spec = spec;
    this.unhealthyBits = spec.healthy === false ? HEALTH_BIT.config : 0;
  }

  get hostname(): string | undefined {
    return this.spec.hostname;
  }
  get weight(): number {
    return this.spec.weight;
  }
  get tags(): Readonly<Record<string, string>> {
    return this.spec.tags;
  }
  get healthy(): boolean {
    return this.unhealthyBits === 0;
  }
  get status(): HostStatus {
    return this.currentStatus;
  }
  get pending(): number {
    return this.pendingCount;
  }

  /** The spec this host was last given (validated and frozen by the cluster). */
  get currentSpec(): HostSpec {
    return this.spec;
  }

  /** A request to this host starts. */
  onStart(): void {
    this.pendingCount++;
  }

  /** A request to this host finished, whatever its outcome. Never goes below zero. */
  onFinish(): void {
    if (this.pendingCount > 0) this.pendingCount--;
  }

  setStatus(status: HostStatus): void {
    const previous = this.currentStatus;
    if (previous === status) return;
    this.currentStatus = status;
    this.subscriber?.hostStatusChanged(this, previous);
  }

  /** Health as one source sees it (outlier detection, active health checks). */
  setHealthy(healthy: boolean, source: HealthSource): void {
    const bit = HEALTH_BIT[source];
    const before = this.unhealthyBits;
    this.unhealthyBits = healthy ? before & ~bit : before | bit;
    if ((before === 0) !== (this.unhealthyBits === 0)) this.subscriber?.hostHealthChanged(this);
  }

  /** Whether `source` currently marks this host unhealthy. */
  isMarkedUnhealthy(source: HealthSource): boolean {
    return (this.unhealthyBits & HEALTH_BIT[source]) !== 0;
  }

  /**
   * Cluster-internal: takes a new spec for the same address as part of a snapshot swap. The cluster
   * builds the new snapshot anyway, so no health event is sent.
   */
  applySpec(spec: HostSpec): void {
    if (spec.address !== this.address) throw new Error(`applySpec: address ${spec.address} is not ${this.address}`);
    this.spec = spec;
    this.unhealthyBits = spec.healthy === false ? this.unhealthyBits | HEALTH_BIT.config : this.unhealthyBits & ~HEALTH_BIT.config;
  }

  /**
   * Whether this host left its cluster (an update without its address, or the cluster removed). A request
   * that still holds an older snapshot (a retry) must not send to it: its pool is being closed
   * (host/proxy/exchange.ts). An address added back is a new host object.
   */
  get removed(): boolean {
    return this.left;
  }

  /** Cluster-internal: the host left its cluster; for good. */
  retire(): void {
    this.left = true;
    this.subscriber = null;
  }

  /** Cluster-internal: one host belongs to one cluster, which is its only subscriber. */
  subscribe(subscriber: HostSubscriber | null): void {
    this.subscriber = subscriber;
  }
}

// The slice of a cluster host the forwarder updates. The cluster's MutableHost has these methods; the
// forwarder only sees the read-only `Host` from the balancer, so it reaches them through this narrow view
// and tolerates hosts without them (tests, plain snapshots).

import { HostStatus, type Host } from "../cluster/types.js";

export interface TrackedHost {
  /** The host left its cluster (MutableHost.removed): no new attempt goes to it. */
  readonly removed?: boolean;
  onStart?(): void;
  onFinish?(): void;
  setStatus?(status: HostStatus): void;
}

/** A request to `host` goes out. */
export function hostStarted(host: Host): void {
  (host as TrackedHost).onStart?.();
}

/** A request to `host` ended, whatever its outcome. */
export function hostFinished(host: Host): void {
  (host as TrackedHost).onFinish?.();
}

export function setHostStatus(host: Host, status: HostStatus): void {
  (host as TrackedHost).setStatus?.(status);
}

/** Whether `host` left its cluster after the snapshot a request holds was taken. */
export function hostRemoved(host: Host): boolean {
  return (host as TrackedHost).removed === true;
}

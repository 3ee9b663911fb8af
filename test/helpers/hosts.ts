// Hosts and a round-robin picker for tests that need a balancer but not a cluster: TestHost counts pending
// requests and records status changes, as the cluster's MutableHost does.

import { HostStatus, type Host } from "../../host/cluster/types.js";
import { fixtureChanges } from "./changes.js";

export class TestHost implements Host {
  readonly hostname = undefined;
  readonly weight = 1;
  readonly tags: Readonly<Record<string, string>> = {};
  readonly healthy = true;
  status: HostStatus = HostStatus.Available;
  pending = 0;
  /** Requests started on this host so far. */
  started = 0;
  readonly statuses: HostStatus[] = [];
  constructor(readonly address: string) {}
  onStart(): void {
    this.pending++;
    this.started++;
    fixtureChanges.notify();
  }
  onFinish(): void {
    this.pending--;
    fixtureChanges.notify();
  }
  setStatus(status: HostStatus): void {
    this.status = status;
    this.statuses.push(status);
  }
}

/** Round robin over `hosts`, skipping excluded ones; records every pick (with what was excluded). */
export class RoundRobinPicker {
  private next = 0;
  readonly picks: { host: string | null; excluded: string[] }[] = [];
  constructor(readonly hosts: readonly Host[]) {}
  pick(exclude: ReadonlySet<Host>): Host | null {
    for (let i = 0; i < this.hosts.length; i++) {
      const h = this.hosts[(this.next + i) % this.hosts.length]!;
      if (!exclude.has(h)) {
        this.next = (this.next + i + 1) % this.hosts.length;
        this.picks.push({ host: h.address, excluded: [...exclude].map((x) => x.address) });
        return h;
      }
    }
    this.picks.push({ host: null, excluded: [...exclude].map((x) => x.address) });
    return null;
  }
}

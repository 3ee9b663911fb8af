// Waiting for a host to become Available (yarpc's Chooser: "block until a peer is available or the
// context deadline"). Woken by status and snapshot events, never by polling.

import type { Clock, TimerHandle } from "./clock.js";
import type { Cluster } from "./cluster.js";
import { NoAvailableHostError } from "./errors.js";
import { HostStatus, type Host } from "./types.js";

function firstAvailable(hosts: readonly Host[]): Host | undefined {
  for (const h of hosts) if (h.status === HostStatus.Available) return h;
  return undefined;
}

/**
 * Resolves with a host of the cluster's current list whose status is Available (at once if there is
 * one), or rejects with E_NO_AVAILABLE_HOST at `deadlineMs` (a time of `clock`). Health is not waited
 * for: balancers fall back to unhealthy hosts, never to an unreachable one.
 *
 * @example
 * const host = await waitForAvailable(cluster, clock.now() + 500, systemClock);
 */
export function waitForAvailable(cluster: Cluster, deadlineMs: number, clock: Clock): Promise<Host> {
  const ready = firstAvailable(cluster.snapshot().hosts);
  if (ready !== undefined) return Promise.resolve(ready);
  const start = clock.now();
  if (deadlineMs <= start) return Promise.reject(new NoAvailableHostError(cluster.name, 0));

  return new Promise<Host>((resolve, reject) => {
    let timer: TimerHandle | undefined = undefined;
    const finish = (): void => {
      offStatus();
      offSnapshot();
      if (timer !== undefined) clock.clearTimeout(timer);
    };
    const offStatus = cluster.onStatusChange((host) => {
      if (host.status !== HostStatus.Available) return;
      finish();
      resolve(host);
    });
    // A new host list may bring Available hosts (new hosts start Available).
    const offSnapshot = cluster.onSnapshot((snapshot) => {
      const host = firstAvailable(snapshot.hosts);
      if (host === undefined) return;
      finish();
      resolve(host);
    });
    timer = clock.setTimeout(() => {
      timer = undefined;
      finish();
      reject(new NoAvailableHostError(cluster.name, Math.round(clock.now() - start)));
    }, deadlineMs - start);
  });
}

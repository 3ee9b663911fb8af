// What every balancer needs of a subset: its hosts by position, and which of them may be chosen.

import { HostStatus, type Host, type Subset } from "../types.js";

/** The host at position `pos` (0 .. count-1) of a subset. */
export function hostAt(subset: Subset, pos: number): Host {
  const idx = subset.indices === null ? pos : subset.indices[pos]!;
  return subset.snapshot.hosts[idx]!;
}

/** A host a balancer prefers: healthy and not known to be unreachable. Connecting hosts count. */
function isUsable(host: Host): boolean {
  return host.healthy && host.status !== HostStatus.Unavailable;
}

/**
 * From position `start`, wrapping, the first usable host not in `exclude`. When no offered host is usable,
 * every host is in "panic" (Envoy's word): then the first host not excluded, because trying a host that
 * may be down beats failing the request outright. Null when every host is excluded or there are none.
 * Returns the position, so that stateful balancers can continue from it.
 */
export function scanFrom(subset: Subset, start: number, exclude: ReadonlySet<Host> | undefined): number {
  const count = subset.count;
  let fallback = -1;
  for (let i = 0; i < count; i++) {
    let pos = start + i;
    if (pos >= count) pos -= count;
    const h = hostAt(subset, pos);
    if (exclude !== undefined && exclude.has(h)) continue;
    if (isUsable(h)) return pos;
    if (fallback < 0) fallback = pos;
  }
  return fallback;
}

/** Same as scanFrom over a list of hosts already resolved (the cached state of hashing balancers). */
export function scanHosts(hosts: readonly Host[], start: number, exclude: ReadonlySet<Host> | undefined): number {
  const count = hosts.length;
  let fallback = -1;
  for (let i = 0; i < count; i++) {
    let pos = start + i;
    if (pos >= count) pos -= count;
    const h = hosts[pos]!;
    if (exclude !== undefined && exclude.has(h)) continue;
    if (isUsable(h)) return pos;
    if (fallback < 0) fallback = pos;
  }
  return fallback;
}

/** Whether a host may be chosen in the first, preferred pass. */
export function isPreferred(host: Host, exclude: ReadonlySet<Host> | undefined): boolean {
  return isUsable(host) && (exclude === undefined || !exclude.has(host));
}

/**
 * The hashing balancers' walk past bad hosts: from `start`, wrapping around `owners` (entry → position in
 * `hosts`: a ring's points, a maglev table's slots), the first preferred host, else the first not excluded
 * (panic, as scanFrom). Null when every one is excluded.
 */
export function walkOwners(hosts: readonly Host[], owners: Uint32Array, start: number, exclude: ReadonlySet<Host> | undefined): Host | null {
  const total = owners.length;
  let fallback: Host | null = null;
  for (let i = 0; i < total; i++) {
    let j = start + i;
    if (j >= total) j -= total;
    const h = hosts[owners[j]!]!;
    if (isPreferred(h, exclude)) return h;
    if (fallback === null && (exclude === undefined || !exclude.has(h))) fallback = h;
  }
  return fallback;
}

/** The hosts of a subset as an array, for building cached state (not for the per-pick path). */
export function subsetHosts(subset: Subset): Host[] {
  const out = new Array<Host>(subset.count);
  for (let i = 0; i < subset.count; i++) out[i] = hostAt(subset, i);
  return out;
}

// Per-subset state of a balancer (a round-robin cursor, an EDF heap, a ring, a maglev table), built once
// and reused while the same subset of the same host list comes back.
//
// Keyed by the snapshot's hosts array rather than its id: a health flip makes a new snapshot over the
// same frozen array, and health is read at pick time, so rings and tables survive it. Old arrays drop
// out with their snapshots (WeakMap). This relies on snapshots being immutable: a hosts array whose
// content changed after a pick would be served stale state.
//
// Explicit subsets are found by a fingerprint of their indices and then compared in full, because the
// chain may hand the same indices in a fresh or a reused buffer: O(count) per pick and no allocation,
// against a build that is O(count) at best.

import type { Host, Subset } from "../types.js";
import { fingerprint } from "./hash.js";

interface Entry<T> {
  readonly indices: Uint32Array;
  readonly value: T;
}

interface PerHostList<T> {
  all: T | undefined;
  readonly byPrint: Map<number, Entry<T>>;
}

export class SubsetCache<T> {
  private readonly perHostList = new WeakMap<readonly Host[], PerHostList<T>>();

  /**
   * @param build makes the state of a subset; its result must not keep a reference to `subset.indices`.
   * @param maxSubsets explicit subsets kept per host list; the oldest goes first.
   */
  constructor(
    private readonly build: (subset: Subset) => T,
    private readonly maxSubsets = 32,
  ) {}

  get(subset: Subset): T {
    const hosts = subset.snapshot.hosts;
    let per = this.perHostList.get(hosts);
    if (per === undefined) {
      per = { all: undefined, byPrint: new Map() };
      this.perHostList.set(hosts, per);
    }
    const indices = subset.indices;
    if (indices === null) {
      if (per.all === undefined) per.all = this.build(subset);
      return per.all;
    }
    const count = subset.count;
    const fp = fingerprint(indices, count);
    const hit = per.byPrint.get(fp);
    if (hit !== undefined && sameIndices(hit.indices, indices, count)) return hit.value;
    const value = this.build(subset);
    if (hit === undefined && per.byPrint.size >= this.maxSubsets) {
      const oldest = per.byPrint.keys().next().value as number;
      per.byPrint.delete(oldest);
    }
    per.byPrint.set(fp, { indices: indices.slice(0, count), value });
    return value;
  }
}

function sameIndices(kept: Uint32Array, indices: Uint32Array, count: number): boolean {
  if (kept.length !== count) return false;
  for (let i = 0; i < count; i++) if (kept[i] !== indices[i]) return false;
  return true;
}

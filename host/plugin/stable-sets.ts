// Sets of table indices derived from stable sets (groups, the whole table, memoized narrowings), remembered
// by the identity of what they come from, and the set algebra the chain applies to offers.

import type { ClusterSnapshot } from "../cluster/types.js";

/** Explicit subsets (and narrowings) kept per stable base set; beyond it the oldest are forgotten. */
const MAX_MEMO_PER_BASE = 64;
/** Derived sets StableSets remembers by identity: more than the plugins of a usual chain. */
const RECENT = 8;

/**
 * Sets derived from stable sets, memoized by the identity of what they come from: an offer (a group, or
 * the whole table keyed by its hosts array) intersected with a group, or narrowed by metadata pairs. With
 * groups the same request shape gives the same arrays, so the per-request cost does not grow with hosts and
 * the balancers see the same subset again. Entries go with their keys (WeakMap) and are bounded per key.
 */
export class StableSets {
  private readonly memo = new WeakMap<object, Map<unknown, Uint32Array>>();
  // The last few answers by identity, before the WeakMap and Map lookups: a run asks one per plugin, and
  // the same request shape asks the same ones again. (They hold at most RECENT old sets past a snapshot change.)
  private readonly recentBase: (object | undefined)[] = new Array<object | undefined>(RECENT).fill(undefined);
  private readonly recentKey: unknown[] = new Array<unknown>(RECENT).fill(undefined);
  private readonly recentSet: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(RECENT).fill(undefined);
  private nextRecent = 0;

  /** The set derived from `base` and `key`, or undefined when not made yet (then `put` it). */
  find(base: object, key: unknown): Uint32Array | undefined {
    for (let i = 0; i < RECENT; i++) if (this.recentBase[i] === base && this.recentKey[i] === key) return this.recentSet[i];
    const set = this.memo.get(base)?.get(key);
    if (set !== undefined) this.remember(base, key, set);
    return set;
  }

  put(base: object, key: unknown, set: Uint32Array): Uint32Array {
    let m = this.memo.get(base);
    if (m === undefined) this.memo.set(base, (m = new Map()));
    if (m.size >= MAX_MEMO_PER_BASE) m.delete(m.keys().next().value);
    m.set(key, set);
    this.remember(base, key, set);
    return set;
  }

  private remember(base: object, key: unknown, set: Uint32Array): void {
    const i = this.nextRecent;
    this.nextRecent = (i + 1) % RECENT;
    this.recentBase[i] = base;
    this.recentKey[i] = key;
    this.recentSet[i] = set;
  }
}

/** Indices in both ascending lists `a` (first `na`) and `b`, written at out[0..]; out may be `a`. */
export function intersectInto(a: Uint32Array, na: number, b: Uint32Array, out: Uint32Array): number {
  let i = 0;
  let j = 0;
  let n = 0;
  const nb = b.length;
  while (i < na && j < nb) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return n;
}

export function hasTags(tags: Readonly<Record<string, string>>, pairs: readonly [string, string][]): boolean {
  for (const [k, v] of pairs) if (tags[k] !== v) return false;
  return true;
}

/** Hosts of `base` (every host when null) carrying every metadata pair (MOSN: all kept hosts carry the same tags). */
export function narrowed(snapshot: ClusterSnapshot, pairs: readonly [string, string][], base: Uint32Array | null, count: number): Uint32Array {
  const hosts = snapshot.hosts;
  const out = new Uint32Array(count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    const idx = base === null ? i : base[i]!;
    if (hasTags(hosts[idx]!.tags, pairs)) out[n++] = idx;
  }
  return n === count ? out : out.slice(0, n);
}

export function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  const n = intersectInto(a, a.length, b, out);
  return n === out.length ? out : out.slice(0, n);
}

// Ring hash, ketama style (Envoy RING_HASH, MOSN LB_RINGHASH): each host owns points on a 32-bit ring in
// proportion to its weight; a key goes to the owner of the first point at or after its hash. Adding or
// removing one of N hosts moves about 1/N of the keys. The ring is built once per subset of a host list
// and cached; without a key the pick is random.

import type { Balancer, Host, PickContext, RandomSource, Subset } from "../types.js";
import { hashString } from "./hash.js";
import { randomPos } from "./random-pos.js";
import { scanHosts, subsetHosts, walkOwners } from "./subset.js";
import { SubsetCache } from "./subset-cache.js";

export const DEFAULT_HASH_REPLICAS = 160; // ketama's points per server
// 2^20 points is 8 MiB of ring and about 100 ms to build; beyond that a big cluster gets fewer points per
// host rather than a bigger ring.
const MAX_RING_POINTS = 1 << 20;

interface Ring {
  readonly hosts: Host[];
  readonly points: Uint32Array; // sorted hashes
  readonly owners: Uint32Array; // owners[i] = position in hosts of the point points[i]
}

/** Builds the ring of a subset: `replicas` points for a host of average weight. */
export function buildRing(subset: Subset, replicas: number): Ring {
  const hosts = subsetHosts(subset);
  const n = hosts.length;
  let sumWeight = 0;
  for (const h of hosts) sumWeight += h.weight;
  const target = Math.min(replicas * n, MAX_RING_POINTS);
  const counts = new Uint32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    counts[i] = Math.max(1, Math.round((target * hosts[i]!.weight) / sumWeight));
    total += counts[i]!;
  }
  // hash × 2^16 + position fits a double exactly (48 bits) and sorts by hash, then position.
  const keyed = new Float64Array(total);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const address = hosts[i]!.address;
    for (let r = 0; r < counts[i]!; r++) keyed[k++] = hashString(address, r) * 65536 + i;
  }
  keyed.sort();
  const points = new Uint32Array(total);
  const owners = new Uint32Array(total);
  for (let j = 0; j < total; j++) {
    const v = keyed[j]!;
    const owner = v % 65536;
    owners[j] = owner;
    points[j] = (v - owner) / 65536;
  }
  return { hosts, points, owners };
}

/** Index of the first point >= hash, wrapping to 0 past the end. */
function lowerBound(points: Uint32Array, hash: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

export class RingHashBalancer implements Balancer {
  private readonly rings: SubsetCache<Ring>;

  constructor(
    private readonly random: RandomSource,
    replicas: number = DEFAULT_HASH_REPLICAS,
  ) {
    this.rings = new SubsetCache((subset) => buildRing(subset, replicas), 16);
  }

  pick(subset: Subset, ctx: PickContext): Host | null {
    if (subset.count === 0) return null;
    const ring = this.rings.get(subset);
    const exclude = ctx.exclude;
    if (ctx.hashKey === undefined) {
      const pos = scanHosts(ring.hosts, randomPos(this.random, ring.hosts.length), exclude);
      return pos < 0 ? null : ring.hosts[pos]!;
    }
    // Walk on along the ring past bad hosts: the next owner is where the key would go if the bad host
    // were removed, so a host going down moves only its own keys.
    return walkOwners(ring.hosts, ring.owners, lowerBound(ring.points, hashString(ctx.hashKey)), exclude);
  }
}

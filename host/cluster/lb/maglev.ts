// Maglev consistent hashing (Google's Maglev paper; Envoy MAGLEV, MOSN LB_MAGLEV): a lookup table of a
// prime size M where each host fills slots along its own permutation, in turn, weighted as Envoy does.
// A pick is one hash and one table read. The table is built once per subset of a host list and cached.

import type { Balancer, Host, PickContext, RandomSource, Subset } from "../types.js";
import { hashString } from "./hash.js";
import { randomPos } from "./random-pos.js";
import { scanHosts, subsetHosts, walkOwners } from "./subset.js";
import { SubsetCache } from "./subset-cache.js";

export const DEFAULT_MAGLEV_TABLE_SIZE = 65537; // prime, above MAX_HOSTS, as Envoy's default
const OFFSET_SEED = 0x9e3779b9;
const SKIP_SEED = 0x85ebca6b;
const EMPTY = 0xffffffff;

interface Table {
  readonly hosts: Host[];
  readonly slots: Uint32Array; // slot → position in hosts
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/**
 * Fills the table. Each round, a host takes its next free slot when its share is due: a host of the
 * largest weight every round, a host of half that weight every other round (Envoy's target_weight).
 * Cost: O(M log M) for equal weights; with extreme weight skew across many hosts the rounds multiply.
 */
export function buildTable(subset: Subset, size: number): Table {
  const hosts = subsetHosts(subset);
  const n = hosts.length;
  const slots = new Uint32Array(size).fill(EMPTY);
  let maxWeight = 0;
  for (const h of hosts) if (h.weight > maxWeight) maxWeight = h.weight;
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  const next = new Float64Array(n);
  const weight = new Float64Array(n);
  const due = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const address = hosts[i]!.address;
    offset[i] = hashString(address, OFFSET_SEED) % size;
    skip[i] = (hashString(address, SKIP_SEED) % (size - 1)) + 1;
    weight[i] = hosts[i]!.weight / maxWeight;
  }
  let filled = 0;
  for (let round = 1; filled < size && n > 0; round++) {
    for (let i = 0; i < n && filled < size; i++) {
      if (round * weight[i]! < due[i]!) continue;
      due[i] = due[i]! + 1;
      let c = (offset[i]! + skip[i]! * next[i]!) % size;
      while (slots[c] !== EMPTY) {
        next[i] = next[i]! + 1;
        c = (offset[i]! + skip[i]! * next[i]!) % size;
      }
      slots[c] = i;
      next[i] = next[i]! + 1;
      filled++;
    }
  }
  return { hosts, slots };
}

export class MaglevBalancer implements Balancer {
  private readonly tables: SubsetCache<Table>;

  constructor(
    private readonly random: RandomSource,
    private readonly size: number = DEFAULT_MAGLEV_TABLE_SIZE,
  ) {
    this.tables = new SubsetCache((subset) => buildTable(subset, size), 16);
  }

  pick(subset: Subset, ctx: PickContext): Host | null {
    if (subset.count === 0) return null;
    const table = this.tables.get(subset);
    const exclude = ctx.exclude;
    if (ctx.hashKey === undefined) {
      const pos = scanHosts(table.hosts, randomPos(this.random, table.hosts.length), exclude);
      return pos < 0 ? null : table.hosts[pos]!;
    }
    // Past a bad host, walk on through the table: neighbouring slots belong to hosts spread over the
    // whole cluster, so a bad host's keys spread too, and the keys of good hosts stay where they were.
    return walkOwners(table.hosts, table.slots, hashString(ctx.hashKey) % this.size, exclude);
  }
}

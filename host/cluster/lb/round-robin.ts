// Round robin (go-kit RoundRobin, MOSN LB_ROUNDROBIN): each host of the subset in turn. One cursor per
// subset, so that requests alternating between two subsets still rotate within each.

import type { Balancer, Host, PickContext, Subset } from "../types.js";
import { hostAt, scanFrom } from "./subset.js";
import { SubsetCache } from "./subset-cache.js";

interface Cursor {
  next: number;
}

export class RoundRobinBalancer implements Balancer {
  private readonly cursors = new SubsetCache<Cursor>(() => ({ next: 0 }));

  pick(subset: Subset, ctx: PickContext): Host | null {
    const count = subset.count;
    if (count === 0) return null;
    const cursor = this.cursors.get(subset);
    const start = cursor.next < count ? cursor.next : 0;
    // Continue after the host chosen, not after the start: a skipped host does not give its turn twice
    // to its neighbour.
    const pos = scanFrom(subset, start, ctx.exclude);
    if (pos < 0) return null;
    cursor.next = pos + 1;
    return hostAt(subset, pos);
  }
}

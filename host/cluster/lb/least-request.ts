// Least request by the power of two choices (Envoy's LEAST_REQUEST, yarpc's pendingheap in spirit): draw
// two distinct hosts at random and take the one with fewer pending requests. O(1) per pick, and avoids
// the herd that "always the global least" sends to a host that just came back. Weights are not used.

import type { Balancer, Host, PickContext, RandomSource, Subset } from "../types.js";
import { randomPos } from "./random-pos.js";
import { hostAt, isPreferred, scanFrom } from "./subset.js";

export class LeastRequestBalancer implements Balancer {
  constructor(private readonly random: RandomSource) {}

  pick(subset: Subset, ctx: PickContext): Host | null {
    const count = subset.count;
    if (count === 0) return null;
    const exclude = ctx.exclude;
    const a = randomPos(this.random, count);
    const ha = hostAt(subset, a);
    if (count === 1) return isPreferred(ha, exclude) ? ha : fallback(subset, a, exclude);
    let b = randomPos(this.random, count - 1);
    if (b >= a) b++;
    const hb = hostAt(subset, b);
    const okA = isPreferred(ha, exclude);
    const okB = isPreferred(hb, exclude);
    if (okA && okB) return hb.pending < ha.pending ? hb : ha;
    if (okA) return ha;
    if (okB) return hb;
    return fallback(subset, a, exclude);
  }
}

function fallback(subset: Subset, from: number, exclude: ReadonlySet<Host> | undefined): Host | null {
  const pos = scanFrom(subset, from, exclude);
  return pos < 0 ? null : hostAt(subset, pos);
}

// Random (go-kit Random, MOSN LB_RANDOM): uniform over the subset, stateless.

import type { Balancer, Host, PickContext, RandomSource, Subset } from "../types.js";
import { randomPos } from "./random-pos.js";
import { hostAt, isPreferred, scanFrom } from "./subset.js";

export class RandomBalancer implements Balancer {
  constructor(private readonly random: RandomSource) {}

  pick(subset: Subset, ctx: PickContext): Host | null {
    const count = subset.count;
    if (count === 0) return null;
    const pos = randomPos(this.random, count);
    const host = hostAt(subset, pos);
    if (isPreferred(host, ctx.exclude)) return host;
    // Scanning on from the drawn position favours the host after a run of bad ones a little; it only
    // happens while some hosts are bad, and keeps the pick O(count) at worst with one draw.
    const next = scanFrom(subset, pos, ctx.exclude);
    return next < 0 ? null : hostAt(subset, next);
  }
}

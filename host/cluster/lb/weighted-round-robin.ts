// Weighted round robin by earliest deadline first, as Envoy's EdfScheduler: each host has a deadline
// that moves forward by 1/weight each time it is chosen; the earliest deadline is chosen next. Chosen
// over nginx's smooth WRR because nginx scans every host on every pick (O(n)), and a cluster may hold
// 65,536 hosts; EDF picks in O(log n) and spreads picks as smoothly. The heap is built once per subset
// (SubsetCache) and lives across requests; health is read at pick time.

import type { Balancer, Host, PickContext, Subset } from "../types.js";
import { isPreferred } from "./subset.js";
import { SubsetCache } from "./subset-cache.js";
import { subsetHosts } from "./subset.js";

// A bad host at the top of the heap loses its turn (as nginx skips a down peer); after this many such
// turns in one pick we stop popping and scan for the earliest good host instead.
const MAX_SKIPS = 8;

class EdfState {
  readonly hosts: Host[];
  private readonly step: Float64Array; // 1 / weight
  private readonly deadline: Float64Array;
  private readonly heap: Uint32Array; // heap of entry numbers
  private readonly where: Uint32Array; // entry → its place in the heap

  constructor(subset: Subset) {
    this.hosts = subsetHosts(subset);
    const n = this.hosts.length;
    this.step = new Float64Array(n);
    this.deadline = new Float64Array(n);
    this.heap = new Uint32Array(n);
    this.where = new Uint32Array(n);
    for (let e = 0; e < n; e++) {
      this.step[e] = 1 / this.hosts[e]!.weight;
      this.deadline[e] = this.step[e]!;
      this.heap[e] = e;
      this.where[e] = e;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get size(): number {
    return this.hosts.length;
  }

  get top(): number {
    return this.heap[0]!;
  }

  /** Entry `e` was chosen (or lost its turn): its next deadline is one step later. */
  advance(e: number): void {
    this.deadline[e] = this.deadline[e]! + this.step[e]!;
    this.siftDown(this.where[e]!);
  }

  /** The entry with the earliest deadline among those `accept` takes, or -1. O(n): the slow path only. */
  earliest(accept: (h: Host) => boolean): number {
    let best = -1;
    for (let e = 0; e < this.hosts.length; e++) {
      if (!accept(this.hosts[e]!)) continue;
      if (best < 0 || this.before(e, best)) best = e;
    }
    return best;
  }

  // Ties go to the earlier entry, so equal weights give plain round robin in subset order.
  private before(a: number, b: number): boolean {
    const da = this.deadline[a]!;
    const db = this.deadline[b]!;
    return da < db || (da === db && a < b);
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const e = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(heap[r]!, heap[l]!) ? r : l;
      if (!this.before(heap[c]!, e)) break;
      heap[i] = heap[c]!;
      this.where[heap[i]!] = i;
      i = c;
    }
    heap[i] = e;
    this.where[e] = i;
  }
}

export class WeightedRoundRobinBalancer implements Balancer {
  private readonly states = new SubsetCache<EdfState>((subset) => new EdfState(subset));

  pick(subset: Subset, ctx: PickContext): Host | null {
    if (subset.count === 0) return null;
    const state = this.states.get(subset);
    const exclude = ctx.exclude;
    const skips = Math.min(MAX_SKIPS, state.size);
    for (let i = 0; i < skips; i++) {
      const e = state.top;
      state.advance(e);
      if (isPreferred(state.hosts[e]!, exclude)) return state.hosts[e]!;
    }
    let e = state.earliest((h) => isPreferred(h, exclude));
    // Panic: no offered host is good, so any host not excluded (see scanFrom).
    if (e < 0) e = state.earliest((h) => exclude === undefined || !exclude.has(h));
    if (e < 0) return null;
    state.advance(e);
    return state.hosts[e]!;
  }
}

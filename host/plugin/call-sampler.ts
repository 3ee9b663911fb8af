// Which chain runs are timed: one in `every`, with one clock read per plugin, so that the per-call histogram
// costs the request path almost nothing. A call's time runs from the end of the previous call (or the run's
// start): the chain's own work between two calls is counted as the next plugin's marshaling.

import type { PluginCounters } from "./counters.js";

export class CallSampler {
  /** Runs since the last timed one, and the clock at the end of the last timed call. */
  private runs = 0;
  private tick = 0;

  constructor(private readonly every: number) {}

  /** At the start of a run: true when this run is timed (its clock starts now). */
  start(): boolean {
    if (++this.runs < this.every) return false;
    this.runs = 0;
    this.tick = performance.now();
    return true;
  }

  /** The time of the call that just ended, counted in `counters`. */
  lap(counters: PluginCounters): number {
    const now = performance.now();
    const ms = now - this.tick;
    this.tick = now;
    counters.observeCall(ms);
    return ms;
  }
}

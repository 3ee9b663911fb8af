// What the chain counts of one plugin, by name, across its versions: a push or a new bundle builds a new
// RouterPlugin, and Prometheus counters must not restart with it. The chain adds plain numbers here on every
// call (a field increment, where a labelled metric cost a lookup per call); the metrics read them at scrape.

import type { FailureKind } from "./errors.js";

/** Upper bounds (seconds) of the call-time histogram: plugin calls take microseconds. */
export const PLUGIN_CALL_BUCKETS: readonly number[] = [0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.001, 0.005, 0.025];

/**
 * One call in TIMING_EVERY is timed (the call-time histogram is a sample): reading the clock costs ~35 ns,
 * a tenth of a call, and the histogram's shape needs no more. Counts of calls and verdicts are exact.
 */
export const TIMING_EVERY = 8;

export class PluginCounters {
  /** Calls made (quarantined skips not included), failed ones included. */
  calls = 0;
  accept = 0;
  reject = 0;
  wait = 0;
  /** Hosts kept, and hosts offered but not kept, summed over accepted calls. */
  kept = 0;
  dropped = 0;
  /** Requests for which the plugin was skipped because it was quarantined. */
  skipped = 0;
  /** Failures (calls and re-instantiations), by kind, and times put in quarantine (GET /plugins shows them). */
  failures = 0;
  readonly failuresByKind: Partial<Record<FailureKind, number>> = {};
  quarantines = 0;
  /** Timed calls per bucket of PLUGIN_CALL_BUCKETS (not cumulative; the last slot is +Inf), and their sum. */
  readonly timeBuckets = new Float64Array(PLUGIN_CALL_BUCKETS.length + 1);
  timedCalls = 0;
  timedSeconds = 0;

  /** A timed call of `ms` milliseconds. */
  observeCall(ms: number): void {
    const s = ms / 1000;
    const b = PLUGIN_CALL_BUCKETS;
    // Linear: a dozen buckets, most calls land in the first few.
    let i = 0;
    while (i < b.length && s > b[i]!) i++;
    this.timeBuckets[i]!++;
    this.timedCalls++;
    this.timedSeconds += s;
  }
}

/** The counters of every plugin name a host has run, kept when a plugin is swapped or removed. */
export class PluginCounterSet {
  private readonly byName = new Map<string, PluginCounters>();

  of(name: string): PluginCounters {
    let c = this.byName.get(name);
    if (c === undefined) this.byName.set(name, (c = new PluginCounters()));
    return c;
  }

  entries(): IterableIterator<[string, PluginCounters]> {
    return this.byName.entries();
  }
}

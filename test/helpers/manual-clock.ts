// A clock that moves only when told to, for tests of ejections, waits and deadlines.

import type { Clock, TimerHandle } from "../../host/cluster/clock.js";

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * @example
 * const clock = new ManualClock();
 * clock.setTimeout(() => console.log("fired"), 100);
 * clock.advance(100); // prints "fired"
 */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: Timer[] = [];
  private waiters: { readonly n: number; readonly resolve: () => void }[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    this.timers = [...this.timers, timer];
    const ready = this.waiters.filter((w) => this.timers.length >= w.n);
    if (ready.length > 0) {
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve();
    }
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Resolves once `n` timers are pending: the wait of a test for the code it drives (a request in flight,
   * say) to have set its timer, instead of a sleep.
   */
  whenPending(n = 1): Promise<void> {
    if (this.timers.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Moves time forward by `ms`, firing due timers in time order (timers set while firing included). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due: Timer | undefined;
      for (const t of this.timers) if (t.at <= end && (due === undefined || t.at < due.at)) due = t;
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = end;
  }
}

// A token bucket with an injected clock: `burst` lines at once, then `ratePerSec` lines a second. Refilled
// lazily on take(), so an idle bucket costs nothing.


import type { ReadClock } from "../cluster/clock.js";

export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @example
   * const b = new TokenBucket(10, 20, () => performance.now());
   * if (b.take()) log(line); else dropped++;
   */
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly clock: ReadClock,
  ) {
    if (!(ratePerSec >= 0) || !Number.isFinite(ratePerSec)) throw new RangeError(`ratePerSec: expected a finite number >= 0, got ${ratePerSec}`);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`burst: expected a finite number >= 1, got ${burst}`);
    this.tokens = burst;
    this.last = clock();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.clock();
    // A clock that steps back (it should not) refills nothing rather than draining the bucket.
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

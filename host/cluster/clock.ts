// The clock and timers that cluster code uses, injected so that tests drive time by hand.

export type TimerHandle = unknown;

/** A clock that is only read, for code that sets no timer (quarantine, log rate limits): milliseconds, monotonic. */
export type ReadClock = () => number;

export interface Clock {
  /** Milliseconds; only differences matter. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The process clock. Timers are unref'd: a pending ejection or wait must not keep the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The process clock in wall-clock ms (Date.now), for code that compares with file modification times. */
export const wallClock: Clock = { ...systemClock, now: () => Date.now() };

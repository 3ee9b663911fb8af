// Waiting for state that changes under the test (log lines arriving, a loop's counters): each waiter looks again
// when notify() says something changed, within a bound in time. An event wait, where a poll slept.

/**
 * @example
 * const changes = new Changes();
 * const logs = memoryLog(lines, changes);
 * const line = await changes.until("the swap line", () => lines.find((l) => l.event === "swapped"));
 */
export class Changes {
  private readonly waiters = new Set<() => void>();

  /** Something a waiter may be waiting for has changed. */
  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first truthy value of `probe` (looked at now and at each notify()); rejects after `timeoutMs`. */
  until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v === undefined || v === null || v === false) return;
        done();
        resolve(v);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}

/**
 * What the fixtures of this test process change: the upstreams' recorded requests and connections
 * (upstreams.ts), log lines (memory-log.ts), the forwarder harness's outcomes, TestHost's pending count; a test
 * that waits on a variable of its own calls fixtureChanges.notify() where it sets it.
 */
export const fixtureChanges = new Changes();

/**
 * Waits until `condition` holds, looking again at each change a fixture reports (fixtureChanges), not on a
 * timer; rejects naming `what` after timeoutMs, the bound of a wait that would otherwise hang the test.
 */
export function waitFor(what: string, condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  return fixtureChanges.until(what, () => condition() || undefined, timeoutMs).then(() => undefined);
}

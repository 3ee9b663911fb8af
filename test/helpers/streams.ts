// Shared by the streaming tests: a body generated only as fast as it is read, and live-memory sampling with a
// full GC before each sample, so that samples count what is held, not chunks passed on and not yet collected.

import { Readable } from "node:stream";
import v8 from "node:v8";
import vm from "node:vm";

export const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, "s");

v8.setFlagsFromString("--expose-gc");
// V8 frees the backing stores of collected ArrayBuffers on a background thread after a full GC, so a sample taken
// right after gc() counted chunks already dropped but not yet swept: 1 MB live read as 20-28 MB alone and 42.7 MB
// under a loaded CI run (test/e2e-streaming.test.ts failed its bound so). Swept in the GC itself, a sample is
// what is held.
v8.setFlagsFromString("--no-concurrent-array-buffer-sweeping");
export const gc = vm.runInNewContext("gc") as () => void;

/** Live JS heap + ArrayBuffer bytes after a full GC. */
export function liveBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** A generated body of `total` bytes, produced only as fast as it is read; `produced` counts what was made. */
export function generated(total: number, produced: { bytes: number }): Readable {
  let left = total;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, CHUNK.length);
      left -= n;
      produced.bytes += n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

/** Samples memory growth over a baseline every 100 ms until stopped; returns the peak growth in bytes. */
export function sampleMemory(): { stop(): { rss: number; js: number } } {
  const baseLive = liveBytes();
  const baseRss = process.memoryUsage.rss();
  let rss = 0;
  let js = 0;
  const timer = setInterval(() => {
    js = Math.max(js, liveBytes() - baseLive);
    rss = Math.max(rss, process.memoryUsage.rss() - baseRss);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return { rss, js };
    },
  };
}

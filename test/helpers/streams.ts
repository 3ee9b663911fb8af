// Shared by the streaming tests: a body generated only as fast as it is read, and live-memory sampling with a
// full GC before each sample, so that samples count what is held, not chunks passed on and not yet collected.

import { Readable } from "node:stream";
import v8 from "node:v8";
import vm from "node:vm";

export const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, "s");

v8.setFlagsFromString("--expose-gc");
export const gc = vm.runInNewContext("gc") as () => void;

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
  gc();
  const base = process.memoryUsage();
  let rss = 0;
  let js = 0;
  const timer = setInterval(() => {
    gc();
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss - base.rss);
    js = Math.max(js, m.heapUsed + m.arrayBuffers - (base.heapUsed + base.arrayBuffers));
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return { rss, js };
    },
  };
}

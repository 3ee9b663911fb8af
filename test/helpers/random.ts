// Deterministic randomness for tests: a seeded uniform source (mulberry32), so that ratio and property tests
// do not flake and a failing case can be replayed from its seed, and a source that repeats given values.
import type { RandomSource } from "../../host/cluster/types.js";

export function seeded(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sequence(values: readonly number[]): RandomSource {
  let i = 0;
  return () => values[i++ % values.length]!;
}

// Deterministic randomness for tests: a seeded uniform source (mulberry32), so that ratio and property tests
// do not flake and a failing case can be replayed from its seed, and a source that repeats given values.
import type { RandomSource } from "../../host/cluster/types.js";

export { seeded } from "../../host/util/seeded.js";

export function sequence(values: readonly number[]): RandomSource {
  let i = 0;
  return () => values[i++ % values.length]!;
}

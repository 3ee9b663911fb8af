// A position in 0 .. count-1 from an injected random source, clamped so that a source returning 1.0
// (out of contract) cannot index past the end.

import type { RandomSource } from "../types.js";

export function randomPos(random: RandomSource, count: number): number {
  const p = Math.floor(random() * count);
  return p >= count ? count - 1 : p < 0 ? 0 : p;
}

// The three guest-owned areas of ABI v1 §2. Each is an ArrayBuffer held by a global: globals are GC roots,
// so the incremental runtime never frees an area the host still writes into, and AssemblyScript's
// allocator never moves a block, so an address stays valid until the area is replaced by a larger one.

import { OUTPUT_BYTES } from "../limits";
import { AREA_INPUT, AREA_OUTPUT, AREA_SUBSET } from "./status";

// Larger than any config (1 MiB), request (256 KiB) or host table the host may write (65,536 hosts with
// long addresses and many tags), and well under the allocator's 1 GiB block limit.
const MAX_AREA_BYTES: i32 = 512 << 20;

let inputArea: ArrayBuffer = new ArrayBuffer(0);
let subsetArea: ArrayBuffer = new ArrayBuffer(0);
let outputArea: ArrayBuffer = new ArrayBuffer(0);

function current(area: i32): ArrayBuffer {
  if (area == AREA_INPUT) return inputArea;
  if (area == AREA_SUBSET) return subsetArea;
  return outputArea;
}

/** sy_reserve: the address of an area of at least `bytes` bytes, or 0 for a bad area id or size. */
export function reserve(area: i32, bytes: i32): usize {
  if (area < AREA_INPUT || area > AREA_OUTPUT || bytes < 0 || bytes > MAX_AREA_BYTES) return 0;
  const buf = current(area);
  if (buf.byteLength >= bytes) return changetype<usize>(buf);
  // The output area is sized for the largest answer at once, so that writing an answer never has to
  // move it behind the host's back.
  const size = area == AREA_OUTPUT && bytes < OUTPUT_BYTES ? OUTPUT_BYTES : bytes;
  const grown = new ArrayBuffer(size);
  if (area == AREA_INPUT) inputArea = grown;
  else if (area == AREA_SUBSET) subsetArea = grown;
  else outputArea = grown;
  return changetype<usize>(grown);
}

export function areaAddress(area: i32): usize {
  return changetype<usize>(current(area));
}

export function areaCapacity(area: i32): i32 {
  return current(area).byteLength;
}

/** The output area, created at OUTPUT_BYTES if the host has not reserved it yet. */
export function outputAddress(): usize {
  return reserve(AREA_OUTPUT, OUTPUT_BYTES);
}

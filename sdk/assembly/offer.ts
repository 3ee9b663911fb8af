// The last partial offer (ABI v1 §4.3, subset n >= 0) the plugin was given, kept as a copy. In a chain the
// host offers the same subset to most requests (the hosts an earlier plugin kept for the common request), so
// comparing it with the copy — a block compare — replaces validating, marking and counting it again: a
// repeated offer keeps its version, and whatever was computed for that version stays valid.

import { HostTable } from "./table";

let copy: ArrayBuffer = new ArrayBuffer(0);
let copyLength: i32 = -1;
let copyTable: HostTable | null = null;

/** Changes whenever the offer differs from the one before; what was computed for a version stays valid. */
export let offerVersion: i32 = 0;

/** Whether the `n` indices at `at` over `table` are the offer remembered last. O(n / 8) word compares. */
export function sameOffer(table: HostTable, at: usize, n: i32): bool {
  return copyTable === table && copyLength == n && memory.compare(at, changetype<usize>(copy), <usize>n << 2) == 0;
}

/** Remember the `n` (already checked) indices at `at` as the current offer of `table`, under a new version. */
export function rememberOffer(table: HostTable, at: usize, n: i32): void {
  if (copy.byteLength < n << 2) copy = new ArrayBuffer(n << 2);
  memory.copy(changetype<usize>(copy), at, <usize>n << 2);
  copyLength = n;
  copyTable = table;
  offerVersion++;
}

/** Forget the offer if it was over `table` (a table let go must not stay reachable from here). */
export function forgetOffersOf(table: HostTable): void {
  if (copyTable === table) {
    copyTable = null;
    copyLength = -1;
    offerVersion++;
  }
}

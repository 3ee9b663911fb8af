// Encoders for what the plugin writes (ABI v1 §5): a message, and a route answer into the output area
// with its kept indices in the subset area.

import { MAX_MESSAGE_BYTES } from "../limits";
import { keptMarks } from "../marks";
import { Result } from "../result";
import { HostTable } from "../table";
import { utf8Cut } from "../utf8";
import { AREA_SUBSET, VERDICT_ACCEPT } from "./status";
import { areaAddress, areaCapacity, outputAddress } from "./areas";

/** Write `text` as a message (§5.1), cut at MAX_MESSAGE_BYTES on a character boundary. */
export function writeMessage(text: string): void {
  const out = outputAddress();
  // Encoded aside first: a long text could encode past the end of the output area.
  const bytes = String.UTF8.encode(text);
  const n = utf8Cut(changetype<usize>(bytes), bytes.byteLength, MAX_MESSAGE_BYTES);
  memory.copy(out + 4, changetype<usize>(bytes), <usize>n);
  store<u32>(out, <u32>n);
}

/** Encode `result` (§5.2). */
export function writeAnswer(result: Result): void {
  const out = outputAddress();
  // Kept indices mean nothing with REJECT or WAIT (the chain ends), so none are written.
  let kept: i32 = 0;
  if (result.verdict == VERDICT_ACCEPT) {
    const group = result.keptGroup;
    kept = group >= 0 ? -2 - group : result.keepsAll ? -1 : writeKept(result);
  }
  store<u32>(out, result.verdict);
  store<i32>(out + 4, kept);
  store<u32>(out + 8, result.arg);
  store<u32>(out + 12, <u32>result.bodyBytes);
  store<u32>(out + 16, <u32>result.metaKeys.length);
  store<u32>(out + 20, <u32>result.metaBytes);
  let pos = out + 24;
  if (result.bodyBytes > 0) {
    pos += String.UTF8.encodeUnsafe(changetype<usize>(result.body), result.body.length, pos);
  }
  for (let i = 0; i < result.metaKeys.length; i++) {
    pos = writeStr(pos, unchecked(result.metaKeys[i]));
    pos = writeStr(pos, unchecked(result.metaValues[i]));
  }
}

function writeStr(pos: usize, s: string): usize {
  const n = String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, pos + 4);
  store<u32>(pos, <u32>n);
  return pos + 4 + n;
}

/**
 * sy_group (§5.3): write group `group` of `table` — its count at the start of the output area, its indices
 * in the subset area — and return its count, or -1 when the table has no such group.
 */
export function writeGroup(table: HostTable, group: i32): i32 {
  if (group < 0 || group >= table.groups.length) return -1;
  const indices = unchecked(table.groups[group]).indices;
  const n = indices.length;
  if (areaCapacity(AREA_SUBSET) < n * 4) abort("sy_group: the subset area holds fewer than the " + n.toString() + " indices of group " + group.toString());
  // An Array<i32>'s backing store is n i32 in a row: the same bytes as n u32 indices.
  memory.copy(areaAddress(AREA_SUBSET), indices.dataStart, <usize>n << 2);
  store<u32>(outputAddress(), <u32>n);
  return n;
}

/** Write the kept indices in increasing table order, each once; returns their count. O(k log k). */
function writeKept(result: Result): i32 {
  const list = result.kept;
  if (!result.keptAscending) list.sort((a: i32, b: i32): i32 => a - b);
  const dst = areaAddress(AREA_SUBSET);
  const capacity = areaCapacity(AREA_SUBSET) >> 2;
  let n = 0;
  let last = -1;
  for (let i = 0; i < list.length; i++) {
    const index = unchecked(list[i]);
    // drop() unmarks without removing from the list; keep() after drop() may list an index twice.
    if (index == last || !keptMarks.has(index)) continue;
    if (n >= capacity) abort("writeKept: the subset area holds " + capacity.toString() + " indices, fewer than the hosts kept");
    store<u32>(dst + (<usize>n << 2), <u32>index);
    last = index;
    n++;
  }
  return n;
}

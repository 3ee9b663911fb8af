// The exports of the WIT world switchyard:router/plugin@1.0.0 (sdk/wit/router.wit) over the SDK's ABI v1
// exports: each function takes its canonical-ABI arguments (sdk/wit/README.md gives the layouts), writes them
// into the SDK's areas as ABI v1 bytes (sdk/ABI.md §4), calls the same sy_* function a raw bundle exports,
// and lifts the answer from the output area. A plugin's rule is the same file in both builds; `switchyard
// build --component` compiles the plugin's entry with this file next to it and keeps only these exports.

import { AREA_INPUT, AREA_SUBSET, STATUS_OK, STATUS_REJECTED, VERDICT_ACCEPT, VERDICT_REJECT } from "../abi/status";
import { areaAddress, outputAddress, reserve } from "../abi/areas";
import { sy_configure, sy_drop_hosts, sy_group, sy_headers, sy_name, sy_order, sy_route, sy_set_hosts } from "../abi/exports";

/** The world's `fail` import (sdk/ABI.md §6 sy_fail): fails the call with a UTF-8 message; never returns. */
@external("switchyard:router/host@1.0.0", "fail")
declare function hostFail(ptr: usize, len: usize): void;

/** `--use abort=…/component/exports/componentAbort`: AssemblyScript's abort as the world's fail. */
export function componentAbort(message: string | null = null, file: string | null = null, line: u32 = 0, column: u32 = 0): void {
  let text = message === null ? "abort" : message;
  if (file !== null) text += " (" + file + ":" + line.toString() + ":" + column.toString() + ")";
  const bytes = String.UTF8.encode(text);
  hostFail(changetype<usize>(bytes), <usize>bytes.byteLength);
  unreachable();
}

// ---------------------------------------------------------------------------------------------- memory

// What the host lowers into the plugin through cabi_realloc lives until the export that receives it returns:
// each block is listed here and freed at the end of that export (the host lowers a call's arguments, then
// calls it, one call at a time).
let lent = new StaticArray<usize>(64);
let lentCount = 0;

export function cabi_realloc(old: usize, oldSize: usize, align: usize, size: usize): usize {
  if (old != 0) return heap.realloc(old, size); // a block already listed
  const p = heap.alloc(size == 0 ? 1 : size);
  if (lentCount == lent.length) {
    const next = new StaticArray<usize>(lent.length * 2);
    memory.copy(changetype<usize>(next), changetype<usize>(lent), <usize>lentCount << 2);
    lent = next;
  }
  unchecked((lent[lentCount++] = p));
  return p;
}

function giveBack(): void {
  for (let i = 0; i < lentCount; i++) heap.free(unchecked(lent[i]));
  lentCount = 0;
}

// The return area of every export (sdk/wit/README.md: 28 bytes for route's result<answer, string>), and the
// (ptr, len) pairs of returned lists of strings, which point into the SDK's output area.
const ret = memory.data(32, 8);
let pairs: usize = 0;
let pairsCap: i32 = 0;

function pairArea(count: i32): usize {
  if (count > pairsCap) {
    if (pairs != 0) heap.free(pairs);
    pairs = heap.alloc(<usize>count << 3);
    pairsCap = count;
  }
  return pairs;
}

/** Points `count` (ptr, len) pairs at the `str`s (u32 len, bytes) from `pos`; returns the pairs' address. */
function strsToPairs(pos: usize, count: i32): usize {
  const at = pairArea(count);
  for (let i = 0; i < count; i++) {
    const len = load<u32>(pos);
    store<u32>(at + (<usize>i << 3), <u32>(pos + 4));
    store<u32>(at + (<usize>i << 3), len, 4);
    pos += 4 + len;
  }
  return at;
}

// ---------------------------------------------------------------------------------------------- writing ABI v1 input

let inputPos: usize = 0;

function startInput(bytes: usize): void {
  inputPos = reserve(AREA_INPUT, <i32>bytes);
  if (inputPos == 0) unreachable();
}

function putU32(v: u32): void {
  store<u32>(inputPos, v);
  inputPos += 4;
}

function putStr(ptr: usize, len: usize): void {
  store<u32>(inputPos, <u32>len);
  memory.copy(inputPos + 4, ptr, len);
  inputPos += 4 + len;
}

/** Bytes of a list of `count` tuple<string, string> at `ptr` as ABI v1 `str` pairs. */
function pairsBytes(ptr: usize, count: usize): usize {
  let n: usize = 0;
  for (let i: usize = 0; i < count; i++) n += 8 + load<u32>(ptr + i * 16, 4) + load<u32>(ptr + i * 16, 12);
  return n;
}

function putPairs(ptr: usize, count: usize): void {
  for (let i: usize = 0; i < count; i++) {
    const e = ptr + i * 16;
    putStr(load<u32>(e), load<u32>(e, 4));
    putStr(load<u32>(e, 8), load<u32>(e, 12));
  }
}

function inputLen(): i32 {
  return <i32>(inputPos - areaAddress(AREA_INPUT));
}

/** result<_, string> from a status: ok, or err with the output area's message. */
function unitResult(status: i32): usize {
  if (status == STATUS_OK) {
    store<u8>(ret, 0);
  } else {
    const out = outputAddress();
    store<u8>(ret, 1);
    store<u32>(ret, <u32>(out + 4), 4);
    store<u32>(ret, load<u32>(out), 8);
  }
  return ret;
}

// ---------------------------------------------------------------------------------------------- the world

export function name(): usize {
  if (sy_name() != STATUS_OK) unreachable();
  const out = outputAddress();
  store<u32>(ret, <u32>(out + 4));
  store<u32>(ret, load<u32>(out), 4);
  return ret;
}

export function order(): i32 {
  return sy_order();
}

export function configure(ptr: usize, len: usize): usize {
  startInput(len);
  memory.copy(inputPos, ptr, len);
  inputPos += len;
  const status = sy_configure(inputLen());
  giveBack();
  // BAD_INPUT from sy_configure is a refusal too (the host treats it so for raw bundles).
  return unitResult(status == STATUS_OK ? STATUS_OK : STATUS_REJECTED);
}

export function headers(some: i32, ptr: usize, count: usize): usize {
  let bytes: usize = 4;
  for (let i: usize = 0; some != 0 && i < count; i++) bytes += 4 + load<u32>(ptr + i * 8, 4);
  startInput(bytes);
  if (some == 0) {
    putU32(0xffffffff);
  } else {
    putU32(<u32>count);
    for (let i: usize = 0; i < count; i++) putStr(load<u32>(ptr + i * 8), load<u32>(ptr + i * 8, 4));
  }
  const status = sy_headers(inputLen());
  giveBack();
  const out = outputAddress();
  if (status != STATUS_OK) return unitResult(status);
  store<u8>(ret, 0);
  const n = load<u32>(out);
  if (n == 0xffffffff) {
    store<u8>(ret, 0, 4);
  } else {
    store<u8>(ret, 1, 4);
    store<u32>(ret, <u32>strsToPairs(out + 4, <i32>n), 8);
    store<u32>(ret, n, 12);
  }
  return ret;
}

export function set_hosts(table: u32, ptr: usize, count: usize): usize {
  // host: address (ptr, len) @0, weight @8, healthy @12, tags (ptr, len) @16; 24 bytes.
  let bytes: usize = 4;
  for (let i: usize = 0; i < count; i++) {
    const h = ptr + i * 24;
    bytes += 16 + load<u32>(h, 4) + pairsBytes(load<u32>(h, 16), load<u32>(h, 20));
  }
  startInput(bytes);
  putU32(<u32>count);
  for (let i: usize = 0; i < count; i++) {
    const h = ptr + i * 24;
    putStr(load<u32>(h), load<u32>(h, 4));
    putU32(load<u32>(h, 8));
    putU32(load<u8>(h, 12));
    putU32(load<u32>(h, 20));
    putPairs(load<u32>(h, 16), load<u32>(h, 20));
  }
  const status = sy_set_hosts(<i32>table, inputLen());
  giveBack();
  // The host of a raw bundle reserves a subset area of the table's size before each route (sdk/ABI.md §4.3):
  // kept indices and groups are written there, so it must hold every host of the table.
  if (status == STATUS_OK && reserve(AREA_SUBSET, <i32>(count << 2)) == 0) unreachable();
  return unitResult(status);
}

export function drop_hosts(table: u32): void {
  sy_drop_hosts(<i32>table);
}

export function route(
  table: u32,
  methodPtr: usize, methodLen: usize,
  pathPtr: usize, pathLen: usize,
  authPtr: usize, authLen: usize,
  headersPtr: usize, headerCount: usize,
  offeredSome: i32, offeredPtr: usize, offeredCount: usize,
): usize {
  startInput(16 + methodLen + pathLen + authLen + pairsBytes(headersPtr, headerCount));
  putStr(methodPtr, methodLen);
  putStr(pathPtr, pathLen);
  putStr(authPtr, authLen);
  putU32(<u32>headerCount);
  putPairs(headersPtr, headerCount);
  let subset: i32 = -1;
  if (offeredSome != 0) {
    const at = reserve(AREA_SUBSET, <i32>(offeredCount << 2));
    if (at == 0) unreachable();
    memory.copy(at, offeredPtr, offeredCount << 2);
    subset = <i32>offeredCount;
  }
  const status = sy_route(<i32>table, inputLen(), subset);
  giveBack();
  const out = outputAddress();
  if (status != STATUS_OK) {
    // NO_TABLE, NOT_CONFIGURED, BAD_INPUT: err with a message (the host fails the call with it).
    store<u8>(ret, 1);
    const why = status == 2 ? "" : status == 3 ? "route: no such table" : "route: not configured";
    if (why.length > 0) {
      const b = String.UTF8.encode(why);
      memory.copy(out + 4, changetype<usize>(b), <usize>b.byteLength);
      store<u32>(out, <u32>b.byteLength);
    }
    store<u32>(ret, <u32>(out + 4), 4);
    store<u32>(ret, load<u32>(out), 8);
    return ret;
  }
  // result ok @0; answer @4: verdict disc @4, payload @8..20; metadata (ptr, len) @20.
  store<u8>(ret, 0);
  const verdict = load<u32>(out);
  const kept = load<i32>(out, 4);
  const arg = load<u32>(out, 8);
  const bodyLen = load<u32>(out, 12);
  store<u8>(ret, <u8>verdict, 4);
  if (verdict == VERDICT_ACCEPT) {
    if (kept == -1) {
      store<u8>(ret, 0, 8);
    } else if (kept >= 0) {
      store<u8>(ret, 1, 8);
      store<u32>(ret, <u32>areaAddress(AREA_SUBSET), 12);
      store<u32>(ret, <u32>kept, 16);
    } else {
      store<u8>(ret, 2, 8);
      store<u32>(ret, <u32>(-2 - kept), 12);
    }
  } else if (verdict == VERDICT_REJECT) {
    store<u16>(ret, <u16>arg, 8);
    store<u32>(ret, <u32>(out + 24), 12);
    store<u32>(ret, bodyLen, 16);
  } else {
    store<u32>(ret, arg, 8);
  }
  const metaCount = load<u32>(out, 16);
  store<u32>(ret, metaCount == 0 ? 0 : <u32>strsToPairs(out + 24 + bodyLen, <i32>(metaCount * 2)), 20);
  store<u32>(ret, metaCount, 24);
  return ret;
}

export function group(table: u32, g: u32): usize {
  const status = sy_group(<i32>table, <i32>g);
  // NO_GROUP or NO_TABLE: none, which the host treats as a failure of the answer that named the group.
  if (status != STATUS_OK) {
    store<u8>(ret, 0);
    return ret;
  }
  store<u8>(ret, 1);
  store<u32>(ret, <u32>areaAddress(AREA_SUBSET), 4);
  store<u32>(ret, load<u32>(outputAddress()), 8);
  return ret;
}

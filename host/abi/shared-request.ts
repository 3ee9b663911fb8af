// A request encoded once (§4.2) for every plugin of a chain. Every plugin gets the same method, path and
// authority and its own subset of the headers (those its bundle declares, or all of them), so the host
// encodes the common part and each header a plugin of the chain reads once per request, and then hands each
// plugin a byte copy of its part. Encoding was ~40% of the host's time in a three-plugin chain (the strings
// walked code unit by code unit, the names matched once per plugin); a copy of a few dozen bytes is not.

import { MAX_HEADERS, MAX_REQUEST_BYTES } from "./limits.js";
import { type HeaderFilter, type RequestParts, writeStr, writeU32 } from "./codec.js";
import { equalsLower } from "../util/ascii.js";

/** Below this many bytes a loop copies faster than a subarray view plus TypedArray.set (measured here). */
const LOOP_COPY_MAX = 64;

/**
 * Copies src[from, to) to dst[at…]; returns the end in dst. When both sides have the same alignment the
 * middle goes as u32 words (4 bytes a step: ~3× a byte loop for the few dozen bytes of a request); `dst32`,
 * `src32` view the same buffers as `dst`, `src` (null: bytes only).
 */
function copy(src: Uint8Array, src32: Uint32Array, from: number, to: number, dst: Uint8Array, dst32: Uint32Array | null, at: number): number {
  const n = to - from;
  if (n > LOOP_COPY_MAX) return copyLong(src, from, to, dst, at);
  let i = from;
  let j = at;
  if (dst32 !== null && ((i ^ j) & 3) === 0) {
    while ((i & 3) !== 0 && i < to) dst[j++] = src[i++]!;
    const words = (to - i) >>> 2;
    const si = i >>> 2;
    const di = j >>> 2;
    for (let w = 0; w < words; w++) dst32[di + w] = src32[si + w]!;
    i += words << 2;
    j += words << 2;
  }
  while (i < to) dst[j++] = src[i++]!;
  return j;
}

// Apart, so that copy() stays small enough to be inlined.
function copyLong(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): number {
  dst.set(src.subarray(from, to), at);
  return at + to - from;
}

/**
 * The encoder of one chain: built once from the plugins' header filters (null: the plugin reads every
 * header), then `encode` per request and `sizeOf` / `writeTo` per plugin ("slot", its place in the chain).
 * Not reentrant: one request at a time, as the chain runs synchronously.
 *
 * @example
 * const shared = new SharedRequest([new HeaderFilter(["x-canary"]), null]);
 * shared.encode({ method: "GET", path: "/", authority: "a", rawHeaders: ["X-Canary", "1", "Accept", "*"] });
 * const end = shared.writeTo(0, u8, ptr); // method, path, authority, 1 header: x-canary
 */
export class SharedRequest {
  /** Declared names of every slot, lowercase, each once; `wants[name * slots + slot]` is 1 when the slot reads it. */
  private readonly names: string[] = [];
  /** Each declared name as §4.2 writes it (u32 length, then its bytes). */
  private readonly nameBytes: Uint8Array[] = [];
  private readonly wants: Uint8Array;
  /** 1 for a slot that reads every header (declares none). */
  private readonly all: Uint8Array;
  private readonly anyAll: boolean;
  private readonly slots: number;

  private scratch = new Uint8Array(1024);
  private scratch32 = new Uint32Array(this.scratch.buffer);
  private prefixEnd = 0;
  /** Per encoded header: where its (name, value) bytes are in `scratch`, and which declared name it is (-1: none). */
  private segStart = new Int32Array(16);
  private segEnd = new Int32Array(16);
  private segName = new Int32Array(16);
  private segments = 0;
  /** Bytes and header count of each slot's encoding, valid while `counted[slot]` is the request's `generation`. */
  private readonly sizes: Int32Array;
  private readonly counts: Int32Array;
  private readonly counted: Int32Array;
  private generation = 0;

  constructor(filters: readonly (HeaderFilter | null)[]) {
    this.slots = filters.length;
    this.all = new Uint8Array(this.slots);
    const ids = new Map<string, number>();
    filters.forEach((f, slot) => {
      if (f === null) this.all[slot] = 1;
      else for (const n of f.names) if (!ids.has(n)) ids.set(n, ids.size);
    });
    this.anyAll = this.all.includes(1);
    this.wants = new Uint8Array(Math.max(1, ids.size * this.slots));
    for (const [name, id] of ids) {
      this.names[id] = name;
      const bytes = new Uint8Array(4 + 3 * name.length);
      this.nameBytes[id] = bytes.slice(0, writeStr(bytes, 0, name));
    }
    filters.forEach((f, slot) => {
      if (f !== null) for (const n of f.names) this.wants[ids.get(n)! * this.slots + slot] = 1;
    });
    this.sizes = new Int32Array(this.slots);
    this.counts = new Int32Array(this.slots);
    this.counted = new Int32Array(this.slots);
  }

  /** The declared name `raw` is, ignoring case, or -1. */
  private nameOf(raw: string): number {
    // A chain declares a handful of names: comparing lengths beats a Map lookup per header (measured). Most
    // clients send lowercase names (HTTP/2 requires them): === first, a native compare.
    const names = this.names;
    const n = raw.length;
    for (let i = 0; i < names.length; i++) if (names[i]!.length === n && (raw === names[i] || equalsLower(raw, names[i]!))) return i;
    return -1;
  }

  /** Room for `bytes` more at `pos` in the scratch buffer. */
  private room(pos: number, bytes: number): void {
    if (pos + bytes <= this.scratch.length) return;
    // A whole number of words, for scratch32.
    const next = new Uint8Array((Math.max(pos + bytes, this.scratch.length * 2) + 3) & ~3);
    next.set(this.scratch.subarray(0, pos));
    this.scratch = next;
    this.scratch32 = new Uint32Array(next.buffer);
  }

  private segment(start: number, end: number, name: number): void {
    const i = this.segments++;
    if (i === this.segStart.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.segStart = grow(this.segStart);
      this.segEnd = grow(this.segEnd);
      this.segName = grow(this.segName);
    }
    this.segStart[i] = start;
    this.segEnd[i] = end;
    this.segName[i] = name;
  }

  /** Encodes `req`'s common part and every header some slot reads; the slots' copies come from it. */
  encode(req: RequestParts): void {
    let pos = 0;
    this.room(0, 12 + 3 * (req.method.length + req.path.length + req.authority.length));
    const scratch = this.scratch;
    pos = writeStr(scratch, pos, req.method);
    pos = writeStr(scratch, pos, req.path);
    pos = writeStr(scratch, pos, req.authority);
    this.prefixEnd = pos;
    this.segments = 0;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const id = this.nameOf(name);
      if (id < 0 && !this.anyAll) continue;
      const value = raw[i + 1]!;
      this.room(pos, 11 + 3 * (name.length + value.length));
      // Each header starts at the alignment the first header of any slot has in the slot's copy (after the
      // common part and the count), so that the copy can go word by word.
      pos += (this.prefixEnd - pos) & 3;
      const start = pos;
      // A declared name is written from its bytes, made once; any other name (for a slot reading every
      // header) lowercased: a declared name equals the raw one lowercased, so all slots read the same bytes.
      if (id >= 0) {
        const bytes = this.nameBytes[id]!;
        const scratch = this.scratch;
        for (let k = 0; k < bytes.length; k++) scratch[pos + k] = bytes[k]!;
        pos += bytes.length;
      } else {
        pos = writeStr(this.scratch, pos, name, true);
      }
      pos = writeStr(this.scratch, pos, value);
      this.segment(start, pos, id);
    }
    // A new generation voids every slot's count without a fill (a native call) per request.
    this.generation = (this.generation + 1) & 0x3fffffff || 1; // a small integer, never a heap number
  }

  private takes(slot: number, seg: number): boolean {
    if (this.all[slot] === 1) return true;
    const name = this.segName[seg]!;
    return name >= 0 && this.wants[name * this.slots + slot] === 1;
  }

  /** The exact byte length of `slot`'s encoding of the request last encoded. */
  sizeOf(slot: number): number {
    if (this.counted[slot] === this.generation) return this.sizes[slot]!;
    let size = this.prefixEnd + 4;
    let count = 0;
    for (let s = 0; s < this.segments; s++) {
      if (!this.takes(slot, s)) continue;
      size += this.segEnd[s]! - this.segStart[s]!;
      count++;
    }
    this.sizes[slot] = size;
    this.counts[slot] = count;
    this.counted[slot] = this.generation;
    return size;
  }

  /**
   * Writes `slot`'s encoding at `u8[at]` (room for sizeOf(slot) is the caller's); returns the end position.
   * `u32`, a word view of u8's buffer, lets aligned stretches go four bytes at a time.
   * RangeError when the slot would get more than MAX_HEADERS headers or MAX_REQUEST_BYTES × 3 bytes.
   */
  writeTo(slot: number, u8: Uint8Array, at: number, u32: Uint32Array | null = null): number {
    const size = this.sizeOf(slot);
    const count = this.counts[slot]!;
    if (count > MAX_HEADERS) throw new RangeError(`request has ${count} headers, more than MAX_HEADERS ${MAX_HEADERS}`);
    if (size > MAX_REQUEST_BYTES * 3) throw new RangeError(`request needs ${size} bytes`);
    const src = this.scratch;
    const src32 = this.scratch32;
    let pos = copy(src, src32, 0, this.prefixEnd, u8, u32, at);
    writeU32(u8, pos, count);
    pos += 4;
    for (let s = 0; s < this.segments; s++) if (this.takes(slot, s)) pos = copy(src, src32, this.segStart[s]!, this.segEnd[s]!, u8, u32, pos);
    return pos;
  }
}

// The world's `route` called on the component's core export directly (host/plugin/component-core.ts says
// where it is): the ABI v1 request the host wrote into its scratch memory is lowered by the canonical ABI
// into the component's memory — every string and list through the component's own cabi_realloc, in the
// order the canonical ABI stores them, strings as UTF-8 bytes copied as they are — the core function gets
// its 12 flat parameters, and the result area is read back into the ABI v1 answer of §5.2 in the scratch
// memory, after which the component's post-return function, when it has one, gets the result area.
// No JavaScript string or object is made for a request: the bytes go scratch → component → scratch.
// Layouts: sdk/wit/README.md "Canonical ABI layouts". Every pointer the component hands back is checked
// (alignment, bounds) as the canonical ABI's lift traps on it; a bad one is the plugin's bad answer.

import { AnswerError } from "./codec.js";
import { GuestAbort } from "./guest.js";
import { ANSWER_HEADER_BYTES, MAX_BODY_BYTES, MAX_LOG_BYTES, MAX_META_BYTES, MAX_META_PAIRS, VERDICT_ACCEPT, VERDICT_REJECT, VERDICT_WAIT } from "./limits.js";

/** The core functions and memory of a component's route (the world's canonical options for it). */
export interface CoreRouteFunctions {
  readonly route: (...flat: number[]) => number;
  readonly memory: WebAssembly.Memory;
  readonly realloc: (oldPtr: number, oldSize: number, align: number, size: number) => number;
  readonly postReturn: ((ret: number) => void) | null;
}

/** `result<answer, string>`: 28 bytes, 4-byte aligned. */
const RESULT_BYTES = 28;
const decoder = new TextDecoder();

/** Where the host's scratch memory holds a route call's input and takes its answer. */
export interface ScratchRoute {
  u8: Uint8Array;
  u32: Uint32Array;
  /** The request (§4.2) at [at, at + len). */
  at: number;
  len: number;
  /** The offered indices (subset area), `count` of them, or count -1: every host. Room for `cap` bytes. */
  subsetAt: number;
  count: number;
  cap: number;
  /** The output area (§5.2). */
  out: number;
}

export class DirectRoute {
  private u8: Uint8Array;
  private u32: Uint32Array;
  private lastPtr = 0;
  private lastLen = 0;

  constructor(private readonly f: CoreRouteFunctions) {
    this.u8 = new Uint8Array(f.memory.buffer);
    this.u32 = new Uint32Array(f.memory.buffer);
  }

  /** The component's memory views, made again after it grew (a grown memory detaches the old buffer). */
  private fresh(): void {
    if (this.u8.length === 0) {
      this.u8 = new Uint8Array(this.f.memory.buffer);
      this.u32 = new Uint32Array(this.f.memory.buffer);
    }
  }

  /** cabi_realloc(0, 0, align, bytes), its answer checked as the canonical ABI does. */
  private alloc(align: number, bytes: number, what: string): number {
    const p = this.f.realloc(0, 0, align, bytes) >>> 0;
    this.fresh();
    if ((p & (align - 1)) !== 0) throw new AnswerError("cabi_realloc", `returned ${p} for ${what}, not ${align}-byte aligned`);
    if (p + bytes > this.u8.length) throw new AnswerError("cabi_realloc", `returned ${p} for ${bytes} bytes of ${what}, past the end of memory`);
    return p;
  }

  /**
   * Lowers the string whose ABI v1 form (u32 length, bytes) is at src[pos]; returns the position after it;
   * the lowered (ptr, len) are left in lastPtr, lastLen (no array per string).
   */
  private string(src: Uint8Array, pos: number, what: string): number {
    const len = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
    const from = pos + 4;
    const p = this.alloc(1, len, what);
    const dst = this.u8;
    if (len > 64) dst.set(src.subarray(from, from + len), p);
    else for (let i = 0; i < len; i++) dst[p + i] = src[from + i]!;
    this.lastPtr = p;
    this.lastLen = len;
    return from + len;
  }

  /** route(table, request, offered) on the core export; the answer written to `s.out` as §5.2 lays it out. */
  route(table: number, s: ScratchRoute): void {
    const src = s.u8;
    let pos = this.string(src, s.at, "the method");
    const mPtr = this.lastPtr, mLen = this.lastLen;
    pos = this.string(src, pos, "the path");
    const pPtr = this.lastPtr, pLen = this.lastLen;
    pos = this.string(src, pos, "the authority");
    const aPtr = this.lastPtr, aLen = this.lastLen;
    const n = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
    pos += 4;
    // list<tuple<string, string>>: the list first, then each element's strings in order.
    const list = this.alloc(4, n * 16, "the headers");
    for (let i = 0; i < n; i++) {
      pos = this.string(src, pos, "a header name");
      const at = (list >>> 2) + i * 4;
      this.u32[at] = this.lastPtr;
      this.u32[at + 1] = this.lastLen;
      pos = this.string(src, pos, "a header value");
      this.u32[at + 2] = this.lastPtr;
      this.u32[at + 3] = this.lastLen;
    }
    if (pos !== s.at + s.len) throw new Error(`the host's request encoding ends at ${pos}, not ${s.at + s.len}`);
    let some = 0;
    let oPtr = 0;
    let oLen = 0;
    if (s.count >= 0) {
      some = 1;
      oLen = s.count;
      oPtr = this.alloc(4, oLen * 4, "the offered indices");
      this.u32.set(s.u32.subarray(s.subsetAt >>> 2, (s.subsetAt >>> 2) + oLen), oPtr >>> 2);
    }
    const ret = this.f.route(table, mPtr, mLen, pPtr, pLen, aPtr, aLen, list, n, some, oPtr, oLen) >>> 0;
    this.fresh();
    let abort: string | null = null;
    try {
      abort = this.lift(ret, s);
    } finally {
      // After the caller is done with the result area, as the canonical ABI calls it (also after an err).
      this.f.postReturn?.(ret);
    }
    if (abort !== null) throw new GuestAbort(abort);
  }

  /** Reads `result<answer, string>` at `ret` into §5.2; returns err's message (null for ok). */
  private lift(ret: number, s: ScratchRoute): string | null {
    const u8 = this.u8;
    const u32 = this.u32;
    if ((ret & 3) !== 0) throw new AnswerError("route", `result area at ${ret} is not 4-byte aligned`);
    if (ret + RESULT_BYTES > u8.length) throw new AnswerError("route", `result area at ${ret} runs past the end of memory`);
    const r = ret >>> 2;
    const result = u8[ret]!;
    if (result === 1) {
      const p = u32[r + 1]!, len = u32[r + 2]!;
      this.check(p, len, 1, "the err message");
      return decoder.decode(u8.subarray(p, p + Math.min(len, MAX_LOG_BYTES * 4))).slice(0, MAX_LOG_BYTES);
    }
    if (result !== 0) throw new AnswerError("route", `result discriminant ${result} is not 0 (ok) or 1 (err)`);
    const dst = s.u8;
    let verdict = VERDICT_ACCEPT;
    let kept = -1;
    let arg = 0;
    let bodyLen = 0;
    const v = u8[ret + 4]!;
    if (v === 0) {
      const k = u8[ret + 8]!;
      if (k === 1) {
        const p = u32[r + 3]!, count = u32[r + 4]!;
        this.check(p, count, 4, "the kept indices");
        if (count * 4 > s.cap) throw new AnswerError("kept", `${count} indices, more than the offered hosts`);
        s.u32.set(u32.subarray(p >>> 2, (p >>> 2) + count), s.subsetAt >>> 2);
        kept = count;
      } else if (k === 2) {
        const g = u32[r + 3]!;
        kept = -2 - g;
        if (kept < -0x7fffffff) throw new AnswerError("kept", `group ${g} is not a group number`);
      } else if (k !== 0) throw new AnswerError("kept", `discriminant ${k} is not 0 (all), 1 (indices) or 2 (group)`);
    } else if (v === 1) {
      verdict = VERDICT_REJECT;
      arg = u8[ret + 8]! | (u8[ret + 9]! << 8);
      const p = u32[r + 3]!, len = u32[r + 4]!;
      this.check(p, len, 1, "the reject body");
      if (len > MAX_BODY_BYTES) throw new AnswerError("body_len", `${len} exceeds MAX_BODY_BYTES ${MAX_BODY_BYTES}`);
      dst.set(u8.subarray(p, p + len), s.out + ANSWER_HEADER_BYTES);
      bodyLen = len;
    } else if (v === 2) {
      verdict = VERDICT_WAIT;
      arg = u32[r + 2]!;
    } else throw new AnswerError("verdict", `discriminant ${v} is not 0 (accept), 1 (reject) or 2 (wait)`);
    const mp = u32[r + 5]!, pairs = u32[r + 6]!;
    this.check(mp, pairs, 16, "the metadata");
    if (pairs > MAX_META_PAIRS) throw new AnswerError("meta_count", `${pairs} exceeds MAX_META_PAIRS ${MAX_META_PAIRS}`);
    // Each string as §5.2 writes it: a u32 length (byte stores: the strings unalign it), then its bytes.
    const metaStart = s.out + ANSWER_HEADER_BYTES + bodyLen;
    let at = metaStart;
    for (let i = 0; i < pairs * 4; i += 2) {
      const p = u32[(mp >>> 2) + i]!, len = u32[(mp >>> 2) + i + 1]!;
      this.check(p, len, 1, "a metadata string");
      if (at + 4 + len - metaStart > MAX_META_BYTES) throw new AnswerError("meta_len", `the pairs exceed MAX_META_BYTES ${MAX_META_BYTES}`);
      dst[at] = len & 0xff;
      dst[at + 1] = (len >>> 8) & 0xff;
      dst[at + 2] = (len >>> 16) & 0xff;
      dst[at + 3] = len >>> 24;
      dst.set(u8.subarray(p, p + len), at + 4);
      at += 4 + len;
    }
    const o = s.out >>> 2;
    const h = s.u32;
    h[o] = verdict;
    h[o + 1] = kept;
    h[o + 2] = arg;
    h[o + 3] = bodyLen;
    h[o + 4] = pairs;
    h[o + 5] = at - metaStart;
    return null;
  }

  /** A (ptr, count) of `size`-byte elements the component returned: aligned and inside its memory. */
  private check(p: number, count: number, size: number, what: string): void {
    if ((p & (size === 1 ? 0 : 3)) !== 0) throw new AnswerError("route", `${what} at ${p} is not 4-byte aligned`);
    if (p + count * size > this.u8.length) throw new AnswerError("route", `${what} (${count} at ${p}) run past the end of memory`);
  }
}

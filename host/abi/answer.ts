// A plugin's route answer (sdk/ABI.md §5.2, §5.3) read out of its memory: the header, the reject body, the
// metadata pairs, the kept indices and the groups sy_group names. The chain and the tools take answers from
// here and never index guest memory themselves; everything read is checked before it is handed on.

import {
  ANSWER_HEADER_BYTES,
  MAX_BODY_BYTES,
  MAX_GROUPS,
  MAX_META_BYTES,
  MAX_META_PAIRS,
  MAX_WAIT_MS,
  VERDICT_ACCEPT,
  VERDICT_REJECT,
  VERDICT_WAIT,
} from "./limits.js";
import { AnswerError, Reader, readU32 } from "./codec.js";

const decoder = new TextDecoder("utf-8", { fatal: false });

/** What RouteAnswer needs of a guest: its memory and the addresses of the output and subset areas. */
export interface AnswerMemory {
  view(): Uint8Array;
  readonly u32: Uint32Array;
  output(): number;
  subset(count: number): number;
}

export type Verdict = "accept" | "reject" | "wait";

/**
 * The fixed part of a route answer, decoded into a reusable object so that a request allocates nothing for
 * the common accept-without-metadata answer.
 */
export class AnswerHeader {
  verdict: Verdict = "accept";
  /** -1 every offered host; n >= 0 the first n indices of the subset area; <= -2 group -kept-2 (§5.3). */
  kept = -1;
  arg = 0;
  bodyLen = 0;
  metaCount = 0;
  metaLen = 0;

  /**
   * Decodes and checks §5.2's header at `out` against `offered` hosts. `u32` views the same memory as `u8`;
   * the output area is 4-byte aligned (§2), so the six fields are six loads, not 24 byte reads.
   */
  read(u8: Uint8Array, u32: Uint32Array, out: number, offered: number): void {
    if ((out & 3) !== 0) throw new AnswerError("answer", `at ${out} is not 4-byte aligned`);
    const at = out >>> 2;
    if (at + ANSWER_HEADER_BYTES / 4 > u32.length) throw new AnswerError("answer", "lies outside memory");
    const v = u32[at]!;
    const kept = u32[at + 1]! | 0;
    const arg = u32[at + 2]!;
    const bodyLen = u32[at + 3]!;
    const metaCount = u32[at + 4]!;
    const metaLen = u32[at + 5]!;
    if (v === VERDICT_ACCEPT) this.verdict = "accept";
    else if (v === VERDICT_REJECT) this.verdict = "reject";
    else if (v === VERDICT_WAIT) this.verdict = "wait";
    else throw new AnswerError("verdict", `${v} is not 0 (accept), 1 (reject) or 2 (wait)`);
    if (kept < -1 - MAX_GROUPS || kept > offered) throw new AnswerError("kept", `${kept} is not -2-g (group g < MAX_GROUPS ${MAX_GROUPS}), -1 or 0..${offered} (the offered count)`);
    // A group names kept hosts; a reject or wait keeps none, so it may not name one (§5.3).
    if (kept < -1 && v !== VERDICT_ACCEPT) throw new AnswerError("kept", `${kept} names a group with a verdict other than accept`);
    if (this.verdict === "reject" && (arg < 200 || arg > 599)) throw new AnswerError("arg", `reject status ${arg} is not 200..599`);
    if (this.verdict === "wait" && (arg < 1 || arg > MAX_WAIT_MS)) throw new AnswerError("arg", `wait ${arg} ms is not 1..${MAX_WAIT_MS}`);
    if (bodyLen > MAX_BODY_BYTES) throw new AnswerError("body_len", `${bodyLen} exceeds MAX_BODY_BYTES ${MAX_BODY_BYTES}`);
    if (this.verdict !== "reject" && bodyLen !== 0) throw new AnswerError("body_len", `${bodyLen} given without a reject verdict`);
    if (metaCount > MAX_META_PAIRS) throw new AnswerError("meta_count", `${metaCount} exceeds MAX_META_PAIRS ${MAX_META_PAIRS}`);
    if (metaLen > MAX_META_BYTES) throw new AnswerError("meta_len", `${metaLen} exceeds MAX_META_BYTES ${MAX_META_BYTES}`);
    if (metaCount > 0 && metaLen < metaCount * 8) throw new AnswerError("meta_len", `${metaLen} is too short for ${metaCount} pairs`);
    if (out + ANSWER_HEADER_BYTES + bodyLen + metaLen > u8.length) throw new AnswerError("answer", "runs past the end of memory");
    this.kept = kept;
    this.arg = arg;
    this.bodyLen = bodyLen;
    this.metaCount = metaCount;
    this.metaLen = metaLen;
  }
}

export function readBody(u8: Uint8Array, out: number, h: AnswerHeader): string {
  return decoder.decode(u8.subarray(out + ANSWER_HEADER_BYTES, out + ANSWER_HEADER_BYTES + h.bodyLen));
}

/** The group a `kept` <= -2 names (§5.3). */
export function groupOf(kept: number): number {
  return -2 - kept;
}

/**
 * Reads and checks what sy_group wrote for group `group` (§5.3): u32 count at `out`, then `count` indices
 * from u32[subsetStart], each < hostCount, strictly increasing. Returns a copy the host keeps for the
 * table's life; it is never written again, so it can be handed on as is.
 */
export function readGroup(u8: Uint8Array, u32: Uint32Array, out: number, subsetStart: number, hostCount: number, group: number): Uint32Array {
  if (out + 4 > u8.length) throw new AnswerError(`group[${group}].count`, "lies outside memory");
  const count = readU32(u8, out);
  if (count > hostCount) throw new AnswerError(`group[${group}].count`, `${count} exceeds the table's ${hostCount} hosts`);
  if (subsetStart + count > u32.length) throw new AnswerError(`group[${group}]`, "runs past the end of memory");
  const indices = u32.slice(subsetStart, subsetStart + count);
  let prev = -1;
  for (let i = 0; i < count; i++) {
    const idx = indices[i]!;
    if (idx >= hostCount) throw new AnswerError(`group[${group}][${i}]`, `index ${idx} is out of range (table has ${hostCount} hosts)`);
    if (idx <= prev) throw new AnswerError(`group[${group}][${i}]`, `index ${idx} is not greater than the one before (${prev})`);
    prev = idx;
  }
  return indices;
}

/**
 * The metadata of a plugin's last answer, decoded again only when its bytes change: a plugin answers the
 * same pairs to most requests, and decoding strings costs more than comparing a few bytes.
 */
export class MetadataCache {
  private bytes = new Uint8Array(0);
  private count = -1;
  /** The pairs of the last read, frozen: callers keep them in logs and decisions and must not change them. */
  pairs: readonly [string, string][] = [];
  /** A string that is equal for equal pairs, to key what was computed from them. */
  key = "";

  read(u8: Uint8Array, out: number, h: AnswerHeader): readonly [string, string][] {
    const start = out + ANSWER_HEADER_BYTES + h.bodyLen;
    const len = h.metaLen;
    if (h.metaCount === this.count && len === this.bytes.length && start + len <= u8.length) {
      const old = this.bytes;
      let same = true;
      for (let i = 0; i < len; i++) if (u8[start + i] !== old[i]) { same = false; break; }
      if (same) return this.pairs;
    }
    const pairs = readMetadata(u8, out, h);
    this.pairs = Object.freeze(pairs);
    this.key = JSON.stringify(pairs);
    this.bytes = u8.slice(start, start + len);
    this.count = h.metaCount;
    return this.pairs;
  }
}

export function readMetadata(u8: Uint8Array, out: number, h: AnswerHeader): [string, string][] {
  const start = out + ANSWER_HEADER_BYTES + h.bodyLen;
  const r = new Reader(u8, start, start + h.metaLen, "metadata");
  const pairs: [string, string][] = [];
  for (let i = 0; i < h.metaCount; i++) pairs.push([r.str(`meta[${i}].key`), r.str(`meta[${i}].value`)]);
  r.end();
  return pairs;
}

/**
 * Checks the kept indices of an answer (§5.2): each < count, offered, and given once. `offeredStamp` holds
 * `stamp` at every offered index when the offer was a list (`offeredAll` false). Returns true when the
 * indices are in increasing order, so the caller sorts only when a plugin gave them out of order.
 */
export function checkKept(
  subset: Uint32Array,
  start: number,
  kept: number,
  count: number,
  offeredAll: boolean,
  marks: Uint32Array,
  offeredStamp: number,
  keptStamp: number,
): boolean {
  let sorted = true;
  let prev = -1;
  for (let i = 0; i < kept; i++) {
    const idx = subset[start + i]!;
    if (idx >= count) throw new AnswerError(`kept[${i}]`, `index ${idx} is out of range (table has ${count} hosts)`);
    const m = marks[idx]!;
    if (m === keptStamp) throw new AnswerError(`kept[${i}]`, `index ${idx} is given twice`);
    if (!offeredAll && m !== offeredStamp) throw new AnswerError(`kept[${i}]`, `index ${idx} was not offered`);
    marks[idx] = keptStamp;
    if (idx < prev) sorted = false;
    prev = idx;
  }
  return sorted;
}

/** §5.2: the metadata key with which a REJECT names the gRPC status a gRPC call is answered with. */
const REJECT_GRPC_STATUS = "grpc-status";
const GRPC_CODE = /^(?:[0-9]|1[0-6])$/;

/**
 * The gRPC status a REJECT's metadata names (§5.2 `grpc-status`, a decimal code 0..16), or null when it names
 * none. A value that is not a code, or the key given twice, is the plugin's bad answer (E_PLUGIN_ANSWER).
 */
export function rejectGrpcStatus(pairs: readonly (readonly [string, string])[]): number | null {
  let code: number | null = null;
  for (let i = 0; i < pairs.length; i++) {
    const [key, value] = pairs[i]!;
    if (key !== REJECT_GRPC_STATUS) continue;
    if (!GRPC_CODE.test(value)) throw new AnswerError(`meta[${i}].value`, `grpc-status ${JSON.stringify(value)} is not a gRPC status code 0..16 (in decimal)`);
    if (code !== null) throw new AnswerError(`meta[${i}].key`, "grpc-status is given twice");
    code = Number(value);
  }
  return code;
}

/**
 * The answer of an instance's last sy_route, bound to its guest: the header fields (AnswerHeader) plus the
 * reads that follow them. One per instance, reused by every call.
 */
export class RouteAnswer extends AnswerHeader {
  constructor(private readonly guest: AnswerMemory) {
    super();
  }

  /** After sy_route returned OK: decodes and checks the header against the `offered` count. */
  take(offered: number): void {
    const g = this.guest;
    const u8 = g.view();
    this.read(u8, g.u32, g.output(), offered);
  }

  /** The reject body (empty for other verdicts). */
  body(): string {
    return readBody(this.guest.view(), this.guest.output(), this);
  }

  /** The metadata pairs, decoded again only when their bytes changed since `cache`'s last read. */
  metadata(cache: MetadataCache): readonly [string, string][] {
    return cache.read(this.guest.view(), this.guest.output(), this);
  }

  /** The metadata pairs, decoded afresh (tools and the harness). */
  metadataPairs(): [string, string][] {
    return readMetadata(this.guest.view(), this.guest.output(), this);
  }

  /**
   * Checks the `kept` (>= 0) indices the plugin wrote into the subset area against the offer and copies them,
   * in table order, to the start of `out`. `offered` null: the whole table was offered.
   */
  keptInto(checker: KeptChecker, hostCount: number, offered: Uint32Array | null, offeredCount: number, out: Uint32Array): void {
    const g = this.guest;
    const start = g.subset(hostCount) >>> 2;
    g.view();
    checker.take(g.u32, start, this.kept, hostCount, offered, offeredCount, out);
  }

  /** The kept indices as the plugin wrote them, unchecked and in its order (the harness checks them itself). */
  keptAsWritten(hostCount: number): number[] {
    const g = this.guest;
    const start = g.subset(hostCount) >>> 2;
    g.view();
    return [...g.u32.subarray(start, start + this.kept)];
  }

  /** After sy_group(table, g) returned OK: its checked indices, a copy the host keeps for the table's life. */
  group(hostCount: number, g: number): Uint32Array {
    const guest = this.guest;
    const u8 = guest.view();
    return readGroup(u8, guest.u32, guest.output(), guest.subset(hostCount) >>> 2, hostCount, g);
  }
}

/**
 * Scratch for checking kept indices in O(kept + offered): a stamp per table index, so that "offered" and
 * "given once" are two compares and nothing is cleared between requests. One per chain (runs are synchronous).
 */
export class KeptChecker {
  private marks = new Uint32Array(64);
  private stamp = 0;

  private nextStamp(size: number): number {
    if (this.marks.length < size) this.marks = new Uint32Array(Math.max(size, this.marks.length * 2));
    if (this.stamp >= 0xfffffff0) {
      this.marks.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }

  /** Checks u32[start, start+kept) against the offer and writes them to `out`, sorted. */
  take(u32: Uint32Array, start: number, kept: number, hostCount: number, offered: Uint32Array | null, offeredCount: number, out: Uint32Array): void {
    const offeredAll = offered === null;
    const offeredStamp = offeredAll ? 0 : this.nextStamp(hostCount);
    if (!offeredAll) {
      // Mark what was offered, so that a kept index that was not offered is caught in O(kept + offered).
      for (let i = 0; i < offeredCount; i++) this.marks[offered[i]!] = offeredStamp;
    }
    const keptStamp = this.nextStamp(hostCount);
    const sorted = checkKept(u32, start, kept, hostCount, offeredAll, this.marks, offeredStamp, keptStamp);
    out.set(u32.subarray(start, start + kept), 0);
    if (!sorted) out.subarray(0, kept).sort();
  }
}

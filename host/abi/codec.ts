// Host-side codecs of ABI v1 (sdk/ABI.md §4, §5): size, encode and decode side by side, every bound checked
// while decoding. Nothing here knows about plugins, chains or HTTP: it moves bytes in and out of a plugin's
// memory. Strings are UTF-8 with u32 byte lengths; byte length is never string length.

import type { Host } from "../cluster/types.js";
import {
  ANSWER_HEADER_BYTES,
  MAX_BODY_BYTES,
  MAX_GROUPS,
  MAX_HEADERS,
  MAX_HOSTS,
  MAX_META_BYTES,
  MAX_META_PAIRS,
  MAX_MESSAGE_BYTES,
  MAX_TAGS_PER_HOST,
  MAX_WAIT_MS,
  MAX_WEIGHT,
  VERDICT_ACCEPT,
  VERDICT_REJECT,
  VERDICT_WAIT,
} from "./limits.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** A request as the chain sees it. rawHeaders alternates name, value as node:http gives them. */
export interface RequestParts {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly rawHeaders: readonly string[];
}

/** An upper bound on the UTF-8 bytes of a string: at most 3 bytes per UTF-16 code unit. */
function maxBytes(s: string): number {
  return 4 + s.length * 3;
}

export function writeU32(u8: Uint8Array, pos: number, v: number): void {
  u8[pos] = v;
  u8[pos + 1] = v >>> 8;
  u8[pos + 2] = v >>> 16;
  u8[pos + 3] = v >>> 24;
}

export function readU32(u8: Uint8Array, pos: number): number {
  return (u8[pos]! | (u8[pos + 1]! << 8) | (u8[pos + 2]! << 16) | (u8[pos + 3]! << 24)) >>> 0;
}

/**
 * Writes `str s` at pos and returns the position after it. The caller guarantees maxBytes(s) bytes of room.
 * ASCII is copied by a plain loop (cheaper than encodeInto for the short strings of headers, measured here),
 * small enough for the JIT to inline into the request encoder; the first non-ASCII code unit hands the string
 * to writeStrPastAscii.
 */
export function writeStr(u8: Uint8Array, pos: number, s: string, lowercase = false): number {
  const start = pos + 4;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x80) return writeStrPastAscii(u8, pos, s, i, lowercase);
    if (lowercase && c >= 65 && c <= 90) c += 32;
    u8[start + i] = c;
  }
  writeU32(u8, pos, n);
  return start + n;
}

/** writeStr from code unit `i` on, the first non-ASCII one: TextEncoder also turns lone surrogates into U+FFFD. */
function writeStrPastAscii(u8: Uint8Array, pos: number, s: string, i: number, lowercase: boolean): number {
  const start = pos + 4;
  const rest = s.slice(i);
  const len = i + encoder.encodeInto(lowercase ? rest.toLowerCase() : rest, u8.subarray(start + i)).written;
  writeU32(u8, pos, len);
  return start + len;
}

export function readStr(u8: Uint8Array, pos: number, len: number): string {
  // Short ASCII strings decode faster by hand than through TextDecoder's native call.
  if (len < 32) {
    let ascii = true;
    for (let i = 0; i < len; i++) if (u8[pos + i]! >= 0x80) { ascii = false; break; }
    if (ascii) return String.fromCharCode.apply(null, u8.subarray(pos, pos + len) as unknown as number[]);
  }
  return decoder.decode(u8.subarray(pos, pos + len));
}

// ---------------------------------------------------------------------------------------------- host table

export function hostTableMaxBytes(hosts: readonly Host[]): number {
  let size = 4;
  for (const h of hosts) {
    size += maxBytes(h.address) + 12;
    for (const k in h.tags) size += maxBytes(k) + maxBytes(h.tags[k]!);
  }
  return size;
}

/** Encodes a host table (§4.1). Done once per snapshot; the bytes are then copied into every plugin. */
export function encodeHostTable(hosts: readonly Host[]): Uint8Array {
  if (hosts.length > MAX_HOSTS) throw new RangeError(`host table has ${hosts.length} hosts, more than MAX_HOSTS ${MAX_HOSTS}`);
  const u8 = new Uint8Array(hostTableMaxBytes(hosts));
  writeU32(u8, 0, hosts.length);
  let pos = 4;
  for (const h of hosts) {
    pos = writeStr(u8, pos, h.address);
    writeU32(u8, pos, Math.min(Math.max(0, h.weight | 0), MAX_WEIGHT));
    writeU32(u8, pos + 4, h.healthy ? 1 : 0);
    const countPos = pos + 8;
    pos += 12;
    let count = 0;
    for (const k in h.tags) {
      if (count === MAX_TAGS_PER_HOST) throw new RangeError(`host ${h.address} has more than MAX_TAGS_PER_HOST ${MAX_TAGS_PER_HOST} tags`);
      pos = writeStr(u8, pos, k);
      pos = writeStr(u8, pos, h.tags[k]!);
      count++;
    }
    writeU32(u8, countPos, count);
  }
  return u8.slice(0, pos);
}

/** The decoded form of a host table, for tests and tools (the guest has its own decoder). */
export interface DecodedHost {
  address: string;
  weight: number;
  healthy: boolean;
  tags: [string, string][];
}

export function decodeHostTable(u8: Uint8Array): DecodedHost[] {
  const r = new Reader(u8, 0, u8.length, "host table");
  const count = r.u32("count", MAX_HOSTS);
  const out: DecodedHost[] = [];
  for (let i = 0; i < count; i++) {
    const address = r.str(`hosts[${i}].address`);
    const weight = r.u32(`hosts[${i}].weight`, MAX_WEIGHT);
    const flags = r.u32(`hosts[${i}].flags`, 1);
    const tagCount = r.u32(`hosts[${i}].tag_count`, MAX_TAGS_PER_HOST);
    const tags: [string, string][] = [];
    for (let t = 0; t < tagCount; t++) tags.push([r.str(`hosts[${i}].tags[${t}].key`), r.str(`hosts[${i}].tags[${t}].value`)]);
    out.push({ address, weight, healthy: (flags & 1) === 1, tags });
  }
  r.end();
  return out;
}

// ---------------------------------------------------------------------------------------------- request

/** Headers a bundle declares it reads (lowercase), for the chain's SharedRequest (shared-request.ts). */
export class HeaderFilter {
  readonly names: readonly string[];

  constructor(names: readonly string[]) {
    this.names = names.map((n) => n.toLowerCase());
  }
}

export interface DecodedRequest {
  method: string;
  path: string;
  authority: string;
  headers: [string, string][];
}

export function decodeRequest(u8: Uint8Array, pos: number, len: number): DecodedRequest {
  const r = new Reader(u8, pos, pos + len, "request");
  const method = r.str("method");
  const path = r.str("path");
  const authority = r.str("authority");
  const count = r.u32("header_count", MAX_HEADERS);
  const headers: [string, string][] = [];
  for (let i = 0; i < count; i++) headers.push([r.str(`headers[${i}].name`), r.str(`headers[${i}].value`)]);
  r.end();
  return { method, path, authority, headers };
}

// ---------------------------------------------------------------------------------------------- messages

/** Reads a message (§5.1) at ptr; a bad length is the plugin's fault and is reported, not thrown past. */
export function readMessage(u8: Uint8Array, ptr: number): string {
  if (ptr + 4 > u8.length) throw new AnswerError("message", `at ${ptr} lies outside memory`);
  const len = readU32(u8, ptr);
  if (len > MAX_MESSAGE_BYTES) throw new AnswerError("message.len", `${len} exceeds MAX_MESSAGE_BYTES ${MAX_MESSAGE_BYTES}`);
  if (ptr + 4 + len > u8.length) throw new AnswerError("message.len", `${len} runs past the end of memory`);
  return readStr(u8, ptr + 4, len);
}

export function writeMessage(u8: Uint8Array, ptr: number, message: string): void {
  const bytes = encoder.encode(message);
  writeU32(u8, ptr, bytes.length);
  u8.set(bytes, ptr + 4);
}

// ---------------------------------------------------------------------------------------------- answers

/** A field of a plugin's answer that failed validation; becomes the plugin failure E_PLUGIN_ANSWER. */
export class AnswerError extends Error {
  readonly code = "E_PLUGIN_ANSWER";
  constructor(readonly field: string, detail: string) {
    super(`invalid answer: ${field} ${detail}`);
  }
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

/** §5.2: the metadata key with which a REJECT names the gRPC status a gRPC call is answered with. */
export const REJECT_GRPC_STATUS = "grpc-status";
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

// ---------------------------------------------------------------------------------------------- reader

/** A bounded reader: every read checks it stays inside [pos, end) — "don't overread". */
class Reader {
  constructor(private readonly u8: Uint8Array, private pos: number, private readonly endPos: number, private readonly what: string) {
    if (endPos > u8.length) throw new AnswerError(what, `ends at ${endPos}, past the end of memory`);
  }

  u32(field: string, max: number): number {
    if (this.pos + 4 > this.endPos) throw new AnswerError(`${this.what}.${field}`, "is truncated");
    const v = readU32(this.u8, this.pos);
    if (v > max) throw new AnswerError(`${this.what}.${field}`, `${v} exceeds ${max}`);
    this.pos += 4;
    return v;
  }

  str(field: string): string {
    const len = this.u32(`${field}.len`, 0xffffffff);
    if (this.pos + len > this.endPos) throw new AnswerError(`${this.what}.${field}`, `length ${len} runs past the end`);
    const s = readStr(this.u8, this.pos, len);
    this.pos += len;
    return s;
  }

  end(): void {
    if (this.pos !== this.endPos) throw new AnswerError(this.what, `has ${this.endPos - this.pos} trailing bytes`);
  }
}

// Host-side codecs of ABI v1 (sdk/ABI.md §4, §5): size, encode and decode side by side, every bound checked
// while decoding. Nothing here knows about plugins, chains or HTTP: it moves bytes in and out of a plugin's
// memory. Strings are UTF-8 with u32 byte lengths; byte length is never string length.

import type { Host } from "../cluster/types.js";
import {
  MAX_HEADERS,
  MAX_HOSTS,
  MAX_MESSAGE_BYTES,
  MAX_TAGS_PER_HOST,
  MAX_WEIGHT,
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

function hostTableMaxBytes(hosts: readonly Host[]): number {
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

// ---------------------------------------------------------------------------------------------- reader

/** A bounded reader: every read checks it stays inside [pos, end) — "don't overread". */
export class Reader {
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

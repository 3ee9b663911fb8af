// The request a handler routes (ABI v1 §4.2), decoded lazily: sy_route only checks the bounds of every
// field and records where it lies in the input area; a string is made only when the handler asks for it,
// so headers nobody reads cost no allocation.

import { fnv1a32Bytes, FNV_OFFSET_BASIS } from "./hash";
import { MAX_HEADERS } from "./limits";
import { Interner } from "./intern";
import { asciiNameEquals, decodeUtf8, utf8Equals } from "./utf8";
import { checkDeclared } from "./declared";

// Per header: name offset, name length, value offset, value length (offsets from the request start).
const SLOTS: i32 = 4;
const spans = new StaticArray<u32>(MAX_HEADERS * SLOTS);

/** Why the last decodeRequest returned null. */
export let requestError: string = "";

/**
 * One request as the host wrote it. Valid during `Handler.route` only: the host overwrites the input area
 * with the next call, so keep strings (which are copies), not the Request.
 */
export class Request {
  private _method: string | null = null;
  private _path: string | null = null;
  private _authority: string | null = null;

  constructor(
    private base: usize,
    private methodAt: u32,
    private methodLen: u32,
    private pathAt: u32,
    private pathLen: u32,
    private authorityAt: u32,
    private authorityLen: u32,
    /** Number of headers written by the host (only those the bundle declares; repeats count once each). */
    public headerCount: i32,
  ) {}

  /** Point this object at the next request: one Request serves every call, so routing allocates nothing. */
  reset(base: usize, methodAt: u32, methodLen: u32, pathAt: u32, pathLen: u32, authorityAt: u32, authorityLen: u32, headerCount: i32): void {
    this.base = base;
    this.methodAt = methodAt;
    this.methodLen = methodLen;
    this.pathAt = pathAt;
    this.pathLen = pathLen;
    this.authorityAt = authorityAt;
    this.authorityLen = authorityLen;
    this.headerCount = headerCount;
    // Stored only when set: every store of a reference is a GC write barrier call. (A string compared with
    // null by == or === is a call to String.__eq; changetype compares the pointer.)
    if (changetype<usize>(this._method) != 0) this._method = null;
    if (changetype<usize>(this._path) != 0) this._path = null;
    if (changetype<usize>(this._authority) != 0) this._authority = null;
  }

  get method(): string {
    let s = this._method;
    if (changetype<usize>(s) == 0) this._method = s = decodeUtf8(this.base + this.methodAt, this.methodLen);
    return s;
  }

  /** The request target as received, with its query. */
  get path(): string {
    let s = this._path;
    if (changetype<usize>(s) == 0) this._path = s = decodeUtf8(this.base + this.pathAt, this.pathLen);
    return s;
  }

  /** The Host header (HTTP/1.1) or :authority. */
  get authority(): string {
    let s = this._authority;
    if (changetype<usize>(s) == 0) this._authority = s = decodeUtf8(this.base + this.authorityAt, this.authorityLen);
    return s;
  }

  /**
   * The first value of header `name` (any case), or null when the request does not carry it. An ASCII value
   * seen lately is returned as the same string object as before: no allocation per request, and the
   * SDK's lookups by string identity (HostTable.tagList) hit.
   */
  header(name: string): string | null {
    const i = this.first(name);
    if (i < 0) return null;
    const s = i * SLOTS;
    return headerValues.get(this.base + unchecked(spans[s + 2]), <i32>unchecked(spans[s + 3]));
  }

  /** Whether the first value of header `name` (any case) equals `value`; allocates nothing for ASCII. */
  headerEquals(name: string, value: string): bool {
    const i = this.first(name);
    if (i < 0) return false;
    const s = i * SLOTS;
    return utf8Equals(this.base + unchecked(spans[s + 2]), unchecked(spans[s + 3]), value);
  }

  /** Whether the first value of header `name` equals one of `values`; allocates nothing for ASCII. */
  headerIn(name: string, values: string[]): bool {
    const i = this.first(name);
    if (i < 0) return false;
    const s = i * SLOTS;
    for (let v = 0; v < values.length; v++) {
      if (utf8Equals(this.base + unchecked(spans[s + 2]), unchecked(spans[s + 3]), unchecked(values[v]))) return true;
    }
    return false;
  }

  /**
   * FNV-1a 32 (see hash.ts) of the first value of header `name`, as fnv1a32(header(name)) gives, without
   * making the string; -1 when the request does not carry the header.
   */
  headerHash(name: string): i64 {
    const i = this.first(name);
    if (i < 0) return -1;
    const s = i * SLOTS;
    return <i64>fnv1a32Bytes(this.base + unchecked(spans[s + 2]), <i32>unchecked(spans[s + 3]), FNV_OFFSET_BASIS);
  }

  /** Whether the request carries header `name` (any case); allocates nothing. */
  hasHeader(name: string): bool {
    return this.first(name) >= 0;
  }

  /** Every value of header `name` (any case) in arrival order; empty when absent. */
  headerAll(name: string): string[] {
    const out = new Array<string>();
    let i = this.first(name);
    while (i >= 0) {
      out.push(this.headerValueAt(i));
      i = this.find(name, i + 1);
    }
    return out;
  }

  /** The lowercase name of the i-th header, 0 <= i < headerCount. */
  headerNameAt(i: i32): string {
    this.check(i);
    const s = i * SLOTS;
    return decodeUtf8(this.base + spans[s], spans[s + 1]);
  }

  /** The value of the i-th header, 0 <= i < headerCount. */
  headerValueAt(i: i32): string {
    this.check(i);
    const s = i * SLOTS;
    return decodeUtf8(this.base + spans[s + 2], spans[s + 3]);
  }

  /** The first header `name`; when absent, checks that the host would have written it (declared.ts). */
  private first(name: string): i32 {
    const i = this.find(name, 0);
    if (i < 0) checkDeclared(name);
    return i;
  }

  private find(name: string, from: i32): i32 {
    for (let i = from; i < this.headerCount; i++) {
      const s = i * SLOTS;
      if (asciiNameEquals(this.base + spans[s], spans[s + 1], name)) return i;
    }
    return -1;
  }

  private check(i: i32): void {
    if (i < 0 || i >= this.headerCount) {
      abort("Request: header index " + i.toString() + " out of range 0.." + this.headerCount.toString());
    }
  }
}

/** Header values header() hands out again: a few, since a rule reads a header or two per request. */
const headerValues = new Interner(8);

/** The one Request object, pointed at each request in turn. */
const current = new Request(0, 0, 0, 0, 0, 0, 0, 0);

/**
 * Check the bounds of a request of `len` bytes at `ptr` and record its fields; null (with requestError
 * set) when a field runs past the end, there are too many headers, or bytes are left over.
 */
export function decodeRequest(ptr: usize, len: u32): Request | null {
  let pos: u32 = 0;
  // Each length is checked against what is left before it is used, so nothing reads past `len`.
  if (len - pos < 4) return fail("method length", pos);
  const methodLen = load<u32>(ptr + pos);
  pos += 4;
  if (methodLen > len - pos) return fail("method", pos);
  const methodAt = pos;
  pos += methodLen;
  if (len - pos < 4) return fail("path length", pos);
  const pathLen = load<u32>(ptr + pos);
  pos += 4;
  if (pathLen > len - pos) return fail("path", pos);
  const pathAt = pos;
  pos += pathLen;
  if (len - pos < 4) return fail("authority length", pos);
  const authorityLen = load<u32>(ptr + pos);
  pos += 4;
  if (authorityLen > len - pos) return fail("authority", pos);
  const authorityAt = pos;
  pos += authorityLen;
  if (len - pos < 4) return fail("header_count", pos);
  const count = load<u32>(ptr + pos);
  pos += 4;
  if (count > <u32>MAX_HEADERS) {
    requestError = "request: header_count " + count.toString() + " exceeds MAX_HEADERS " + MAX_HEADERS.toString();
    return null;
  }
  for (let i: u32 = 0; i < count; i++) {
    const s = <i32>i * SLOTS;
    if (len - pos < 4) return failHeader("name length", i, pos);
    const nameLen = load<u32>(ptr + pos);
    pos += 4;
    if (nameLen > len - pos) return failHeader("name", i, pos);
    unchecked((spans[s] = pos));
    unchecked((spans[s + 1] = nameLen));
    pos += nameLen;
    if (len - pos < 4) return failHeader("value length", i, pos);
    const valueLen = load<u32>(ptr + pos);
    pos += 4;
    if (valueLen > len - pos) return failHeader("value", i, pos);
    unchecked((spans[s + 2] = pos));
    unchecked((spans[s + 3] = valueLen));
    pos += valueLen;
  }
  if (pos != len) {
    requestError = "request: " + (len - pos).toString() + " bytes left over after the last header at offset " + pos.toString();
    return null;
  }
  current.reset(ptr, methodAt, methodLen, pathAt, pathLen, authorityAt, authorityLen, <i32>count);
  return current;
}

function fail(field: string, pos: u32): Request | null {
  requestError = "request: " + field + " runs past the end of the request at offset " + pos.toString();
  return null;
}

function failHeader(field: string, i: u32, pos: u32): Request | null {
  requestError = "request: header " + i.toString() + " " + field + " runs past the end of the request at offset " + pos.toString();
  return null;
}

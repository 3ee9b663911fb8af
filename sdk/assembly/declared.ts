// The headers the configured plugin reads (ABI v1 §4.4). A configure may declare them
// (Configured.ok(handler).readingHeaders([...])); otherwise the bundle's plugin.json "headers" apply, which
// the host hands to sy_headers. The host then writes exactly those into each request, and a handler asking
// for another one is stopped with an error naming it: a silent null would let a pushed config that names
// a header the host never writes route as if the request did not carry it.

import { MAX_HEADERS, OUTPUT_BYTES } from "./limits";

export const ALL_HEADERS: u32 = 0xffffffff;

/** What the last accepted configure declared: null when it declared nothing (the bundle's list applies). */
let pending: string[] | null = null;
let pendingAll: bool = false;

/** Whether sy_headers has run: before it (a host that does not call it) nothing is checked. */
let known: bool = false;
let all: bool = true;
let names: string[] = [];
/** The last name found declared, kept (so its address cannot be reused) to skip the check next time. */
let lastChecked: string | null = null;

export function declareHeaders(list: string[] | null, every: bool): void {
  pending = list;
  pendingAll = every;
}

/** Why the last answerHeaders returned false. */
export let headersError: string = "";

function isTokenChar(c: i32): bool {
  if (c >= 0x61 && c <= 0x7a) return true; // a-z
  if (c >= 0x30 && c <= 0x39) return true; // 0-9
  return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d || c == 0x2e || c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
}

/**
 * sy_headers: `defaults` (len bytes at ptr, §4.4) is the bundle's list; writes the list the plugin reads at
 * `out` and makes it the one checked. False (headersError set) for a declared name that is not an HTTP
 * header name or a list that does not fit.
 */
export function answerHeaders(ptr: usize, len: u32, out: usize): bool {
  let every = pendingAll;
  let list: string[] = [];
  const p = pending;
  if (!every && p === null) {
    // The bundle's list, as the host wrote it.
    if (len < 4) return bad("sy_headers: the default list is " + len.toString() + " bytes, less than its count");
    const count = load<u32>(ptr);
    if (count == ALL_HEADERS) every = true;
    else {
      let pos: u32 = 4;
      for (let i: u32 = 0; i < count; i++) {
        if (len - pos < 4) return bad("sy_headers: default header " + i.toString() + " runs past the end");
        const n = load<u32>(ptr + pos);
        if (n > len - pos - 4) return bad("sy_headers: default header " + i.toString() + " runs past the end");
        list.push(String.UTF8.decodeUnsafe(ptr + pos + 4, n));
        pos += 4 + n;
      }
    }
  } else if (p !== null) {
    for (let i = 0; i < p.length; i++) list.push(unchecked(p[i]).toLowerCase());
  }
  if (!every) {
    if (list.length > MAX_HEADERS) return bad("configure declared " + list.length.toString() + " headers, more than MAX_HEADERS " + MAX_HEADERS.toString());
    let pos: usize = 4;
    for (let i = 0; i < list.length; i++) {
      const name = unchecked(list[i]);
      if (name.length == 0) return bad("configure declared header " + i.toString() + " as \"\", not an HTTP header name");
      for (let k = 0; k < name.length; k++) {
        if (!isTokenChar(name.charCodeAt(k))) return bad("configure declared header \"" + name + "\", not an HTTP header name");
      }
      if (pos + 4 + <usize>name.length > <usize>OUTPUT_BYTES) return bad("configure declared headers that take more than " + OUTPUT_BYTES.toString() + " bytes");
      store<u32>(out + pos, <u32>name.length);
      // Token characters are ASCII: one byte each.
      String.UTF8.encodeUnsafe(changetype<usize>(name), name.length, out + pos + 4);
      pos += 4 + name.length;
    }
  }
  store<u32>(out, every ? ALL_HEADERS : <u32>list.length);
  known = true;
  all = every;
  names = list;
  lastChecked = null;
  return true;
}

function bad(message: string): bool {
  headersError = message;
  return false;
}

function equalsIgnoreCase(lower: string, name: string): bool {
  if (lower.length != name.length) return false;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c != lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Called when a request does not carry header `name`: stops the call (an abort, a plugin failure naming the
 * header) when the host would never have written it. A name found declared once is not looked up again.
 */
export function checkDeclared(name: string): void {
  if (!known || all) return;
  if (changetype<usize>(name) == changetype<usize>(lastChecked)) return;
  const list = names;
  for (let i = 0; i < list.length; i++) {
    if (equalsIgnoreCase(unchecked(list[i]), name)) {
      lastChecked = name;
      return;
    }
  }
  abort("Request: header \"" + name + "\" is not declared, so the host never writes it; declare it in configure (Configured.ok(handler).readingHeaders([...])) or in plugin.json \"headers\"");
}

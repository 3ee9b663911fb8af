// The header list of sy_headers (sdk/ABI.md §4.4): the headers a configured plugin reads, decided by its
// configure rather than fixed by its bundle, so that a pushed config naming another header takes effect.
//
//   u32 count                 ALL_HEADERS (0xffffffff): every header; else at most MAX_HEADERS
//   count × str name          lowercase HTTP header names
//
// The host writes the bundle's list (metadata.json `headers`) into the input area, the plugin answers with
// the list it reads in the output area (the same one when its configure declared none).

import { ALL_HEADERS, MAX_HEADERS, OUTPUT_BYTES } from "./limits.js";
import { AnswerError, readStr, readU32, writeU32 } from "./codec.js";
import { LOWERCASE_HTTP_TOKEN } from "../util/http-token.js";

const encoder = new TextEncoder();

/** Encodes `names` (null: every header) as §4.4 writes it. */
export function encodeHeaderList(names: readonly string[] | null): Uint8Array {
  if (names === null) {
    const out = new Uint8Array(4);
    writeU32(out, 0, ALL_HEADERS);
    return out;
  }
  const encoded = names.map((n) => encoder.encode(n));
  const out = new Uint8Array(4 + encoded.reduce((s, b) => s + 4 + b.length, 0));
  writeU32(out, 0, names.length);
  let pos = 4;
  for (const b of encoded) {
    writeU32(out, pos, b.length);
    out.set(b, pos + 4);
    pos += 4 + b.length;
  }
  return out;
}

/**
 * Reads the plugin's header list at `ptr` (the output area, OUTPUT_BYTES long): null for every header, else
 * the names, each once. AnswerError naming the field (`headers`, `headers[i]`) for anything malformed.
 */
export function readHeaderList(u8: Uint8Array, ptr: number): string[] | null {
  const end = Math.min(u8.length, ptr + OUTPUT_BYTES);
  if (ptr + 4 > end) throw new AnswerError("headers", `at ${ptr} lies outside memory`);
  const count = readU32(u8, ptr);
  if (count === ALL_HEADERS) return null;
  if (count > MAX_HEADERS) throw new AnswerError("headers", `count ${count} exceeds MAX_HEADERS ${MAX_HEADERS}`);
  const names: string[] = [];
  let pos = ptr + 4;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > end) throw new AnswerError(`headers[${i}]`, "runs past the end of the output area");
    const len = readU32(u8, pos);
    if (len > end - pos - 4) throw new AnswerError(`headers[${i}]`, `length ${len} runs past the end of the output area`);
    const name = readStr(u8, pos + 4, len);
    if (!LOWERCASE_HTTP_TOKEN.test(name)) throw new AnswerError(`headers[${i}]`, `${JSON.stringify(name)} is not a lowercase HTTP header name`);
    if (!names.includes(name)) names.push(name);
    pos += 4 + len;
  }
  return names;
}

/** Whether two header lists (null: every header) name the same headers. */
export function sameHeaders(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((n) => b.includes(n));
}

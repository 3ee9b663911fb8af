// The checks a request head passes before routing or any plugin runs, in one place for the two ways a head
// arrives: through a listener (node:http has parsed it: syntax and size are already enforced) and as a sample
// request of `explain` (JSON, parsed by nobody: the same syntax and size limits are checked here), so that
// explain refuses what the listener refuses, with the same status and code (issue 18).

import { maxHeaderSize } from "node:http";
import { MAX_HEADERS } from "../abi/limits.js";
import { HTTP_TOKEN } from "../util/http-token.js";

export interface HeadRefusal {
  readonly status: 400 | 431;
  readonly code: "E_TOO_MANY_HEADERS" | "E_DUPLICATE_HOST" | "E_HEADERS_TOO_LARGE" | "E_BAD_REQUEST_HEAD";
  readonly message: string;
}

/** How many Host headers the client sent (rawHeaders: name, value, name, value…). */
function hostCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === "host") n++;
  }
  return n;
}

/**
 * What the request path refuses of a parsed head: more headers than a plugin may be given (sdk/ABI.md §8,
 * so that it can never count as a plugin's failure), and more than one Host (RFC 9112 §3.2: Node keeps the
 * first and drops the rest, so a front proxy and this host could each route by a different one).
 */
export function headRefusal(raw: readonly string[]): HeadRefusal | null {
  if (raw.length > 2 * MAX_HEADERS) return { status: 431, code: "E_TOO_MANY_HEADERS", message: `more than ${MAX_HEADERS} request headers` };
  if (hostCount(raw) > 1) return { status: 400, code: "E_DUPLICATE_HOST", message: "more than one Host header" };
  return null;
}

// RFC 9110 §5.5: a field value is visible characters, spaces and tabs (obs-text too); never CR, LF or NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// A request target as it can stand in a request line: no whitespace, no control characters.
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;

/**
 * What node:http would refuse of a head that did not come through it (a sample request of explain): a
 * method that is not a token, a target or header that cannot be written on the wire (400), a head larger than
 * the parser's limit, http.maxHeaderSize (431); then what headRefusal refuses.
 */
export function unparsedHeadRefusal(method: string, target: string, raw: readonly string[]): HeadRefusal | null {
  const bad = (message: string): HeadRefusal => ({ status: 400, code: "E_BAD_REQUEST_HEAD", message });
  if (!HTTP_TOKEN.test(method)) return bad(`method ${JSON.stringify(method.slice(0, 64))} is not an HTTP token`);
  if (!TARGET.test(target)) return bad("the path has whitespace or control characters");
  // The request line and every field line with its CRLF, as the parser counts them against its limit.
  let size = method.length + 1 + target.length + " HTTP/1.1\r\n".length;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (!HTTP_TOKEN.test(name)) return bad(`header name ${JSON.stringify(name.slice(0, 64))} is not an HTTP token`);
    if (!FIELD_VALUE.test(value)) return bad(`header ${name}: the value has a CR, LF, NUL or other control character`);
    size += name.length + 2 + value.length + 2;
  }
  if (size > maxHeaderSize) return { status: 431, code: "E_HEADERS_TOO_LARGE", message: `the request head is ${size} bytes, more than the listener's limit of ${maxHeaderSize} bytes` };
  return headRefusal(raw);
}

// Header rewriting in both directions: hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business and
// never cross it; X-Forwarded-* are added on the way up. Both functions are on the hot path: they walk raw
// header arrays once and allocate only the output array.

import { equalsLower } from "../util/ascii.js";

/** Headers that describe one connection, not the message; never forwarded in either direction. */
function isHopByHop(lower: string): boolean {
  switch (lower) {
    case "connection":
    case "keep-alive":
    case "te":
    case "trailer":
    case "transfer-encoding":
    case "upgrade":
      return true;
    default:
      // Proxy-Connection, Proxy-Authorization, Proxy-Authenticate and friends address this proxy.
      return lower.length > 6 && lower.charCodeAt(5) === 45 /* - */ && lower.startsWith("proxy-");
  }
}

/** Tokens of a Connection header that name further headers to drop ("close" and "keep-alive" are not names). */
function connectionNamed(value: string, into: Set<string> | null): Set<string> | null {
  // Nearly every upstream answer says just "keep-alive" (or "close"): no split, trim or lowercase copy for it
  // (this function was ~1% of the proxy's CPU under wrk before this check).
  if (isPlainConnection(value)) return into;
  for (const token of value.split(",")) {
    const name = token.trim().toLowerCase();
    if (name === "" || name === "close" || name === "keep-alive") continue;
    (into ??= new Set()).add(name);
  }
  return into;
}

/** Whether a Connection value is exactly "keep-alive" or "close", in any case: it names no header. */
function isPlainConnection(value: string): boolean {
  return equalsLower(value, "keep-alive") || equalsLower(value, "close");
}

function dropNamed(out: string[], named: ReadonlySet<string>): void {
  let w = 0;
  for (let r = 0; r < out.length; r += 2) {
    if (named.has(out[r]!.toLowerCase())) continue;
    out[w++] = out[r]!;
    out[w++] = out[r + 1]!;
  }
  out.length = w;
}

/** One header a route adds to every request it forwards. */
export interface HeaderToAdd {
  readonly name: string; // lowercase
  readonly value: string;
  /** true: add a value next to the request's own; false: replace the request's values. */
  readonly append: boolean;
}

/** The parts of a forward policy that shape request headers; built once per route. */
export interface RequestHeaderRules {
  readonly hostRewrite: string | null;
  readonly headersToAdd: readonly HeaderToAdd[];
  /** Lowercase names of headersToAdd with append=false: the request's own values are dropped. */
  readonly replaced: ReadonlySet<string>;
}

/** Set in the bits returned by buildRequestHeaders when the request carries a body. */
export const HAS_BODY = 1;

/**
 * Writes the upstream request headers into `out` (flat name/value pairs, as undici takes them) from the
 * client's raw headers. Returns HAS_BODY when the client sent Content-Length > 0 or Transfer-Encoding: the
 * caller then streams the request body, otherwise it sends none.
 *
 * X-Forwarded-For gets the client address appended; X-Forwarded-Proto and X-Forwarded-Host are set from
 * this hop, replacing what the client sent: without a list of trusted proxies a client's claim is not kept.
 */
export function buildRequestHeaders(
  raw: readonly string[],
  remoteAddress: string | undefined,
  proto: string,
  rules: RequestHeaderRules,
  out: string[],
): number {
  let flags = 0;
  let host: string | undefined;
  let xff: string | undefined;
  let named: Set<string> | null = null;
  const replaced = rules.replaced;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    switch (lower) {
      case "host":
        host ??= value;
        continue;
      case "content-length":
        if (value !== "0") flags |= HAS_BODY;
        break;
      case "transfer-encoding":
        flags |= HAS_BODY;
        continue;
      case "x-forwarded-for":
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case "x-forwarded-proto":
      case "x-forwarded-host":
        continue;
      case "expect":
        // Node's server already answered "100-continue"; undici refuses to send Expect.
        continue;
      case "connection":
        named = connectionNamed(value, named);
        continue;
      default:
        if (isHopByHop(lower)) continue;
        if (replaced.size !== 0 && replaced.has(lower)) continue;
    }
    out.push(name, value);
  }
  if (named !== null) dropNamed(out, named);
  const forwardedHost = host ?? "";
  out.push("host", rules.hostRewrite ?? forwardedHost);
  if (remoteAddress !== undefined) out.push("x-forwarded-for", xff === undefined ? remoteAddress : `${xff}, ${remoteAddress}`);
  else if (xff !== undefined) out.push("x-forwarded-for", xff);
  out.push("x-forwarded-proto", proto);
  if (forwardedHost !== "") out.push("x-forwarded-host", forwardedHost);
  const add = rules.headersToAdd;
  for (let i = 0; i < add.length; i++) out.push(add[i]!.name, add[i]!.value);
  return flags;
}

/**
 * Turns an upstream response's raw headers (Buffers, as undici gives them) into the flat string pairs that
 * ServerResponse.writeHead takes, without hop-by-hop headers. Repeated headers (Set-Cookie) stay repeated.
 */
export function buildResponseHeaders(raw: readonly Buffer[], out: string[]): void {
  let named: Set<string> | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1");
    const value = raw[i + 1]!.toString("latin1");
    const lower = name.toLowerCase();
    if (lower === "connection") {
      named = connectionNamed(value, named);
      continue;
    }
    if (isHopByHop(lower)) continue;
    out.push(name, value);
  }
  if (named !== null) dropNamed(out, named);
}

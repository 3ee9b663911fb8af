// One request shape for the request path, whatever the protocol (issue 15). node:http2's compatibility API hands
// the handler an Http2ServerRequest whose headers hold the pseudo-headers (:method, :path, :authority, :scheme)
// and no Host; the pipeline, the plugins and the forwarder read Host and a header list without them. This turns
// the one into the other before Pipeline.handle sees it: :authority becomes Host (RFC 9113 §8.3.1: it stands
// for Host; a Host the client also sent must agree, else 400 below), pseudo-headers are dropped, and the
// cookie crumbs HTTP/2 allows are joined back into one header (RFC 9113 §8.2.3) for HTTP/1.1 upstreams, and a
// body without content-length is announced as chunked.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/**
 * Rewrites `req` in place (own properties over the compat getters) and gives `res` the `destroyed` the
 * forwarder reads. Returns a reason when the request must be refused (a Host that disagrees with :authority).
 */
export function asHttp1Shape(req: Http2ServerRequest, res: Http2ServerResponse): string | null {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let authority: string | undefined;
  let host: string | undefined;
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ":authority") authority = value;
      continue;
    }
    if (name === "cookie") {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
      continue;
    }
    if (name === "host") host = value;
    out.push(name, value);
  }
  if (authority !== undefined && host !== undefined && authority !== host) return "Host and :authority differ";
  if (host === undefined && authority !== undefined) out.unshift("host", authority);
  if (cookie !== undefined) out.push("cookie", cookie);
  // An HTTP/2 body is the DATA frames after HEADERS, usually without content-length; said here as an HTTP/1.1
  // client says a body of unknown length, so that the forwarder streams it (host/proxy/headers.ts HAS_BODY).
  if (!req.stream.endAfterHeaders && req.headers["content-length"] === undefined) out.push("transfer-encoding", "chunked");
  const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i < out.length; i += 2) {
    const name = out[i]!;
    const had = headers[name];
    headers[name] = had === undefined ? out[i + 1]! : Array.isArray(had) ? [...had, out[i + 1]!] : name === "set-cookie" ? [had, out[i + 1]!] : `${had}, ${out[i + 1]!}`;
  }
  Object.defineProperty(req, "rawHeaders", { value: out, writable: true, configurable: true });
  Object.defineProperty(req, "headers", { value: headers, writable: true, configurable: true });
  Object.defineProperty(res, "destroyed", { get: () => res.stream.destroyed, configurable: true });
  return null;
}

/** The compat objects, typed as what Pipeline.handle takes once asHttp1Shape ran: the fields it reads exist on both. */
export function asNodeHttp(req: Http2ServerRequest, res: Http2ServerResponse): [IncomingMessage, ServerResponse] {
  return [req as unknown as IncomingMessage, res as unknown as ServerResponse];
}

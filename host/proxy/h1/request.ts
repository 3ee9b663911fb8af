// One request of the llhttp upstream client (host/proxy/h1/pool.ts): the dispatch options checked and turned
// into the bytes of a request head once, at dispatch, by undici's own rules (its Request's processHeader, its
// HTTP/1 client's writeH1), so that an upstream sees what it saw from undici's Pool and a
// request undici refuses is refused here with the same error class and code.

import type { Readable } from "node:stream";
import { errors } from "undici";
import { HTTP_TOKEN } from "../../util/http-token.js";

/** The legacy undici dispatch handler (what host/proxy/exchange.ts implements, and undici's own api-request). */
export interface LegacyHandler {
  onConnect?(abort: (err?: Error) => void): void;
  onHeaders?(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[] | null): void;
  onError?(err: Error): void;
  onBodySent?(chunk: Buffer): void;
  onRequestSent?(): void;
}

/** The dispatch options this client reads (undici's Dispatcher.DispatchOptions, HTTP/1.1 fields). */
export interface H1DispatchOptions {
  readonly path: string;
  readonly method: string;
  readonly headers?: readonly string[] | Record<string, string | readonly string[] | undefined> | null;
  readonly body?: string | Uint8Array | Readable | null;
  readonly reset?: boolean | null;
}

// undici's headerCharRegex: a value may hold tab, printable ASCII and obs-text, nothing else (no CR, LF, NUL).
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BAD_PATH = /[^\u0021-\u00ff]/;
const CONTENT_LENGTH = /^\d+$/;

/** Methods whose request means a body: an empty one is sent as content-length 0 (RFC 9110 §8.6). */
function expectsPayload(method: string): boolean {
  return method === "PUT" || method === "POST" || method === "PATCH" || method === "QUERY" || method === "PROPFIND" || method === "PROPPATCH";
}

function isStream(body: unknown): body is Readable {
  return typeof (body as { on?: unknown }).on === "function" && typeof (body as { pipe?: unknown }).pipe === "function";
}

export class H1Request {
  readonly method: string;
  readonly path: string;
  /** The Host header's value, null: the pool's address. */
  host: string | null = null;
  /** Every other header as "name: value\r\n" lines. */
  lines = "";
  contentLength: number | null = null;
  readonly body: Buffer | Readable | null;
  readonly expectsPayload: boolean;
  /** The request asked for its connection not to be reused (`connection: close`, or reset). */
  reset: boolean;
  /** onComplete or onError was called: nothing more goes to the handler. */
  done = false;

  constructor(opts: H1DispatchOptions, readonly handler: LegacyHandler) {
    const { method, path } = opts;
    if (typeof path !== "string" || (path.charCodeAt(0) !== 47 /* / */ && !/^https?:\/\//i.test(path))) throw new errors.InvalidArgumentError("path must be an absolute URL or start with a slash");
    if (BAD_PATH.test(path)) throw new errors.InvalidArgumentError("invalid request path");
    if (typeof method !== "string" || !HTTP_TOKEN.test(method)) throw new errors.InvalidArgumentError("invalid request method");
    if (method === "CONNECT") throw new errors.NotSupportedError("CONNECT is not supported by this client");
    if (typeof handler.onHeaders !== "function" || typeof handler.onError !== "function") throw new errors.InvalidArgumentError("handler must implement the legacy onHeaders/onError methods");
    this.method = method;
    this.path = path;
    this.expectsPayload = expectsPayload(method);
    this.reset = opts.reset === true;
    const headers = opts.headers;
    if (Array.isArray(headers)) {
      if (headers.length % 2 !== 0) throw new errors.InvalidArgumentError("headers array must be even");
      for (let i = 0; i < headers.length; i += 2) this.header(headers[i] as string, headers[i + 1]);
    } else if (headers != null && typeof headers === "object") {
      const h = headers as Record<string, string | readonly string[] | undefined>;
      for (const name of Object.keys(h)) this.header(name, h[name]);
    } else if (headers != null) throw new errors.InvalidArgumentError("headers must be an object or an array");
    const body = opts.body;
    if (body == null) this.body = null;
    else if (typeof body === "string") this.body = body.length > 0 ? Buffer.from(body) : null;
    else if (body instanceof Uint8Array) this.body = body.byteLength > 0 ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : null;
    else if (isStream(body)) this.body = body;
    else throw new errors.InvalidArgumentError("body must be a string, a Buffer or a Readable stream");
  }

  private header(name: string, value: unknown): void {
    if (value === undefined) return;
    if (typeof name !== "string" || !HTTP_TOKEN.test(name)) throw new errors.InvalidArgumentError("invalid header key");
    if (Array.isArray(value)) {
      for (const v of value) this.header(name, v);
      return;
    }
    const v = value === null ? "" : typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : null;
    if (v === null || BAD_VALUE.test(v)) throw new errors.InvalidArgumentError(`invalid ${name} header`);
    // Only names of these lengths need a lowercase look: the others are passed on as given.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") {
          if (this.host !== null) throw new errors.InvalidArgumentError("duplicate host header");
          this.host = v;
          return;
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          if (this.contentLength !== null) throw new errors.InvalidArgumentError("duplicate content-length header");
          if (!CONTENT_LENGTH.test(v)) throw new errors.InvalidArgumentError("invalid content-length header");
          this.contentLength = Number(v);
          return;
        }
        break;
      case 17:
      case 7:
        if (name.toLowerCase() === "transfer-encoding" || name.toLowerCase() === "upgrade") throw new errors.InvalidArgumentError(`invalid ${name.toLowerCase()} header`);
        break;
      case 10: {
        const lower = name.toLowerCase();
        if (lower === "keep-alive") throw new errors.InvalidArgumentError("invalid keep-alive header");
        if (lower === "connection") {
          const c = v.toLowerCase();
          if (c !== "close" && c !== "keep-alive") throw new errors.InvalidArgumentError("invalid connection header");
          if (c === "close") this.reset = true;
          return;
        }
        break;
      }
      case 6:
        if (name.toLowerCase() === "expect") throw new errors.NotSupportedError("expect header not supported");
        break;
    }
    this.lines += `${name}: ${v}\r\n`;
  }

  /** The head up to (not including) its framing header and blank line. */
  head(hostHeader: string, keepAlive: boolean): string {
    return `${this.method} ${this.path} HTTP/1.1\r\nhost: ${this.host ?? hostHeader}\r\nconnection: ${keepAlive ? "keep-alive" : "close"}\r\n${this.lines}`;
  }

  /** Ends the request in an error, once; false when it had already ended. */
  fail(err: Error): boolean {
    if (this.done) return false;
    this.done = true;
    this.handler.onError!(err);
    return true;
  }
}

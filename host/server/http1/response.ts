// The response half of the llhttp codec (issue 19): what the request path calls on a node:http ServerResponse
// (host/server/pipeline.ts, host/proxy/exchange.ts, host/proxy/grpc.ts, setHeader in host/server/host.ts) —
// writeHead, write with backpressure, end, trailers, 1xx, destroy, headersSent/destroyed and the
// 'drain'/'close' events — written straight to the connection's socket. The head is held until the first body
// write or end, so that a small answer leaves in one write.
//
// Framing (RFC 9112 §6): no body for HEAD, 1xx, 204 and 304; Content-Length when the caller gave one; else
// chunked for an HTTP/1.1 client and the end of the connection for an HTTP/1.0 one.

import { EventEmitter } from "node:events";
import { STATUS_CODES, validateHeaderName, validateHeaderValue } from "node:http";

/** What a response needs of its connection (host/server/http1/connection.ts). */
export interface ResponseSink {
  /** Writes bytes; false when the socket's buffer is full ('drain' on the response follows). */
  write(data: string | Buffer, last: boolean): boolean;
  cork(): void;
  uncork(): void;
  /** The response ended: the connection sends the next one, or closes when `keepAlive` is false. */
  ended(res: Http1Response, keepAlive: boolean): void;
  /** Cuts the client connection. */
  destroy(): void;
  /** The Date header value of this second. */
  date(): string;
  /** The listener is closing: this answer is the connection's last. */
  draining(): boolean;
}

type HeaderInput = Record<string, string | number | readonly string[] | undefined> | readonly (string | number)[];

const CRLF = "\r\n";

export class Http1Response extends EventEmitter {
  headersSent = false;
  destroyed = false;
  writableEnded = false;
  finished = false;
  statusCode = 200;
  /** The head, written with the first body bytes or at the end. */
  private head: string | null = null;
  private chunked = false;
  private bodyless = false;
  private trailers: string | null = null;
  private extra: [string, string][] | null = null;
  needDrain = false;

  constructor(
    private readonly sink: ResponseSink,
    private keepAlive: boolean,
    private readonly isHead: boolean,
    private readonly http10: boolean,
  ) {
    super();
  }

  /** Headers set before writeHead (host/server/host.ts adds the worker's pid this way). */
  setHeader(name: string, value: string | number | readonly string[]): this {
    validateHeaderName(name);
    const values = Array.isArray(value) ? value : [String(value)];
    const kept = (this.extra ?? []).filter(([n]) => n.toLowerCase() !== name.toLowerCase());
    for (const v of values) {
      validateHeaderValue(name, v);
      kept.push([name, String(v)]);
    }
    this.extra = kept;
    return this;
  }

  getHeader(name: string): string | undefined {
    return this.extra?.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
  }

  /** Flat pairs (name, value, …) or an object, as node:http takes them; throws on a name or value it refuses. */
  writeHead(status: number, headers?: HeaderInput): this {
    if (this.headersSent) throw Object.assign(new Error("Cannot write headers after they are sent to the client"), { code: "ERR_HTTP_HEADERS_SENT" });
    if (!Number.isInteger(status) || status < 100 || status > 999) throw Object.assign(new RangeError(`Invalid status code: ${status}`), { code: "ERR_HTTP_INVALID_STATUS_CODE" });
    const pairs: string[] = [];
    if (this.extra !== null) for (const [n, v] of this.extra) pairs.push(n, v);
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) pairs.push(String(headers[i]), String(headers[i + 1]));
    } else if (headers !== undefined) {
      for (const name in headers as Record<string, unknown>) {
        const v = (headers as Record<string, string | number | readonly string[] | undefined>)[name];
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const one of v) pairs.push(name, String(one));
        else pairs.push(name, String(v));
      }
    }
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "unknown"}\r\n`;
    let length = false;
    let date = false;
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i]!;
      const value = pairs[i + 1]!;
      validateHeaderName(name);
      validateHeaderValue(name, value);
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === "date") date = true;
          break;
        case 10:
          if (name.toLowerCase() === "connection") {
            // The connection's own framing decides; a caller's "close" is honoured.
            if (/(^|,)\s*close\s*(,|$)/i.test(value)) this.keepAlive = false;
            continue;
          }
          break;
        case 14:
          if (name.toLowerCase() === "content-length") length = true;
          break;
        case 17:
          // Framing is this codec's: a caller's transfer-encoding is replaced by the one chosen below.
          if (name.toLowerCase() === "transfer-encoding") continue;
          break;
      }
      head += `${name}: ${value}\r\n`;
    }
    if (this.sink.draining()) this.keepAlive = false;
    this.bodyless = this.isHead || status < 200 || status === 204 || status === 304;
    if (!this.bodyless && !length) {
      if (this.http10) this.keepAlive = false;
      else {
        this.chunked = true;
        head += "transfer-encoding: chunked\r\n";
      }
    }
    if (!date) head += `date: ${this.sink.date()}\r\n`;
    if (!this.keepAlive) head += "connection: close\r\n";
    else if (this.http10) head += "connection: keep-alive\r\n";
    this.head = head + CRLF;
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }

  /** 100 Continue, for a request that asked with Expect (node:http's writeContinue). */
  writeContinue(): void {
    if (!this.headersSent) this.sink.write("HTTP/1.1 100 Continue\r\n\r\n", false);
  }

  /** 103 Early Hints before the final answer, written as node:http writes them: nothing without a Link header. */
  writeEarlyHints(hints: Record<string, string | readonly string[]>): void {
    if (this.headersSent || this.destroyed) return;
    const link = hints["link"];
    if (link === undefined || link.length === 0) return;
    let head = `HTTP/1.1 103 Early Hints\r\nLink: ${Array.isArray(link) ? link.join(", ") : link}\r\n`;
    for (const name in hints) {
      if (name === "link") continue;
      validateHeaderName(name);
      const v = hints[name]!;
      const value = Array.isArray(v) ? v.join(", ") : (v as string);
      validateHeaderValue(name, value);
      head += `${name}: ${value}\r\n`;
    }
    validateHeaderValue("link", Array.isArray(link) ? link.join(", ") : (link as string));
    this.sink.write(head + CRLF, false);
  }

  addTrailers(trailers: Record<string, string>): void {
    let t = "";
    for (const name in trailers) {
      validateHeaderName(name);
      validateHeaderValue(name, trailers[name]!);
      t += `${name}: ${trailers[name]!}\r\n`;
    }
    this.trailers = t;
  }

  write(chunk: Buffer | string): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const size = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    const head = this.head;
    this.head = null;
    if (this.bodyless || size === 0) return head === null ? true : this.sink.write(head, false);
    const sink = this.sink;
    sink.cork();
    if (head !== null) sink.write(head, false);
    let ok: boolean;
    if (this.chunked) {
      sink.write(`${size.toString(16)}\r\n`, false);
      sink.write(chunk, false);
      ok = sink.write(CRLF, false);
    } else ok = sink.write(chunk, false);
    sink.uncork();
    if (!ok) this.needDrain = true;
    return ok;
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded) return this;
    if (this.destroyed) {
      this.writableEnded = true;
      return this;
    }
    if (!this.headersSent) {
      // node:http sets content-length for a body given whole to end() with nothing written before.
      const size = chunk === undefined ? 0 : typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
      this.writeHead(this.statusCode, ["content-length", String(size)]);
    }
    const sink = this.sink;
    sink.cork();
    if (chunk !== undefined) this.write(chunk);
    let tail = this.head ?? "";
    this.head = null;
    if (this.chunked) tail += `0\r\n${this.trailers ?? ""}\r\n`;
    // Nothing left to send is not written: an empty write still costs a trip through the socket.
    if (tail.length > 0) sink.write(tail, !this.keepAlive);
    sink.uncork();
    this.writableEnded = true;
    this.finished = true;
    this.emit("finish");
    this.sink.ended(this, this.keepAlive);
    return this;
  }

  /** Cuts the client connection (a response that cannot be completed must not look complete). */
  destroy(): this {
    if (!this.destroyed) this.sink.destroy();
    return this;
  }

  /** Called by the connection: the response ended and was handed on, or the socket closed. */
  closed(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit("close");
  }
}

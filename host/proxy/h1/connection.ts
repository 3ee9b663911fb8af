// One upstream connection of the llhttp client (host/proxy/h1/pool.ts): a net.Socket or tls.TLSSocket, Node's
// llhttp in RESPONSE mode (host/server/http1/llhttp.ts, the parser node:http's client runs) and at most one request
// at a time (no pipelining). What it does is what undici's HTTP/1 client does (its writeH1 and parser), with
// the same error classes, but for one thing: an
// unsolicited `100 Continue` is dropped and the final response that follows it is read (RFC 9110 §15.2), where
// undici closes the connection.
//
// - The request body streams with backpressure (a full socket pauses the body), framed by its Content-Length or
//   chunked; the head goes out with the first body byte, as undici sends it.
// - The response body streams with backpressure: a handler's onData returning false pauses the socket, and what
//   the parser had already cut from that read waits (one socket read at most) until resume().
// - The connection is reused only after a complete response to a completely sent request, not after a HEAD,
//   `connection: close`, an HTTP/1.0 answer, a 204/304 that announced a body, or bytes no request asked for.
// - Bounded: the parser's header limit (node:http's maxHeaderSize, 16 KiB, head and trailers), its chunk-size and
//   chunk-extension limits; a response beyond them is a parse error, the connection closed.

import { connect as netConnect, isIP, type Socket } from "node:net";
import { maxHeaderSize } from "node:http";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import type { Readable } from "node:stream";
import { errors } from "undici";
import { HTTPParser, isParseError, lenientFlags, type NativeParser, type ParseError } from "../../server/http1/llhttp.js";
import type { UpstreamTlsOptions } from "../transport.js";
import type { H1Request } from "./request.js";

/** What the connections of one pool share (host/proxy/h1/pool.ts). */
export interface ConnectionContext {
  readonly hostname: string;
  readonly port: number;
  /** "host:port" for a request without a Host header. */
  readonly hostHeader: string;
  readonly tls: UpstreamTlsOptions | null;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly now: () => number;
  connected(c: H1Connection): void;
  connectFailed(c: H1Connection, err: Error): void;
  /** The connection can take another request. */
  released(c: H1Connection): void;
  /** The socket closed. */
  gone(c: H1Connection): void;
}

const enum Wait {
  None,
  Headers,
  Body,
  Idle,
}

/** undici's Client defaults keepAliveTimeoutThreshold and keepAliveMaxTimeout. */
const KEEP_ALIVE_THRESHOLD_MS = 2_000;
const KEEP_ALIVE_MAX_MS = 600_000;
const KEEP_ALIVE_TIMEOUT = /timeout=(\d+)/i;

const EMPTY: string[] = [];

/** undici's HTTPParserError(message, code without "HPE_"), whose constructor its types do not declare. */
const HttpParserError = errors.HTTPParserError as unknown as new (message: string, code: string) => Error;

function parserError(r: ParseError): Error {
  if (r.code === "HPE_HEADER_OVERFLOW") return new errors.HeadersOverflowError();
  return new HttpParserError(`Response does not match the HTTP/1.1 protocol (${r.reason ?? r.code})`, r.code.replace(/^HPE_/, ""));
}

function settle(c: H1Connection): void {
  c.settled();
}

function destroyBody(body: Readable): void {
  if (!body.destroyed) body.destroy();
}

export class H1Connection {
  readonly socket: Socket;
  private readonly parser: NativeParser;
  private connected = false;
  private closed = false;
  private error: Error | null = null;
  private connectTimer: NodeJS.Timeout | null;
  /** The request being sent and answered. */
  private req: H1Request | null = null;
  /** The connection may carry another request once this one is answered. */
  private reusable = true;
  private keepAliveMs: number;
  /** The final response's status (0 until its head is parsed) and llhttp's keep-alive verdict on it. */
  private status = 0;
  private keepAlive = true;
  private pendingHeaders: string[] = [];
  /** onData returned false: the socket is paused and parsed body bytes wait here. */
  private paused = false;
  private held: Buffer[] = [];
  /** The response completed while paused: its trailers, delivered after the held bytes. */
  private heldComplete: string[] | null = null;
  /** The request body is being written. */
  private writing = false;
  private bodyBytes = 0;
  private chunked = false;
  private wait = Wait.None;
  private deadline = Infinity;
  /** Bytes moved since the last check: the headers or body deadline starts again. */
  private touched = false;
  readonly resume = (): void => this.resumeResponse();
  private readonly onBodyData = (chunk: Buffer | string): void => this.bodyData(chunk);
  private readonly onBodyEnd = (): void => this.bodyEnd();
  private readonly onBodyError = (err: Error): void => this.abort(this.req, err);
  private readonly onBodyClose = (): void => {
    if (this.writing) queueMicrotask(() => this.abort(this.req, new errors.RequestAbortedError()));
  };

  constructor(private readonly ctx: ConnectionContext, first: H1Request) {
    this.req = first;
    this.keepAliveMs = ctx.keepAliveTimeoutMs;
    const tls = ctx.tls;
    const socket = tls === null
      ? netConnect({ host: ctx.hostname, port: ctx.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 })
      : tlsConnect({
          host: ctx.hostname,
          port: ctx.port,
          ...tls,
          // No SNI for an address (RFC 6066 §3); the certificate is still checked against it.
          servername: tls.servername ?? (isIP(ctx.hostname) === 0 ? ctx.hostname : undefined),
          ALPNProtocols: ["http/1.1"],
          noDelay: true,
          keepAlive: true,
          keepAliveInitialDelay: 60_000,
        } as ConnectionOptions);
    this.socket = socket;
    this.connectTimer = setTimeout(() => this.connectTimedOut(), ctx.connectTimeoutMs);
    const p = new HTTPParser();
    p.initialize(HTTPParser.RESPONSE, {}, maxHeaderSize, lenientFlags());
    p[HTTPParser.kOnMessageBegin] = () => this.onMessageBegin();
    p[HTTPParser.kOnHeaders] = (headers: string[]) => {
      for (let i = 0; i < headers.length; i++) this.pendingHeaders.push(headers[i]!);
    };
    p[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, headers: string[] | undefined, _m: unknown, _u: unknown, status: number, text: string, upgrade: boolean, keepAlive: boolean) =>
      this.onHeadersComplete(headers, status, text, upgrade, keepAlive);
    p[HTTPParser.kOnBody] = (b: Buffer) => this.onBody(b);
    p[HTTPParser.kOnMessageComplete] = () => this.onMessageComplete();
    this.parser = p;
    socket.once(tls === null ? "connect" : "secureConnect", () => this.onConnected());
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("end", () => this.onEnd());
    socket.on("error", (err: Error) => this.onSocketError(err));
    socket.on("close", () => this.onClose());
    socket.on("drain", () => this.onDrain());
  }

  /** Connected and not closing: it can take a request. */
  get usable(): boolean {
    return this.connected && !this.closed && !this.socket.destroyed;
  }

  // --- connecting ------------------------------------------------------------------------------------------

  private connectTimedOut(): void {
    this.connectTimer = null;
    const err = new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${this.ctx.hostname}:${this.ctx.port}, timeout: ${this.ctx.connectTimeoutMs}ms)`);
    this.ctx.connectFailed(this, err);
    this.destroy(err);
  }

  private onConnected(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.connected = true;
    this.ctx.connected(this);
    const req = this.req;
    this.req = null;
    if (req !== null) this.start(req);
    else this.ctx.released(this);
  }

  // --- sending ---------------------------------------------------------------------------------------------

  /** Takes `req` on this idle, connected connection: onConnect, then its head and body. */
  start(req: H1Request): void {
    this.req = req;
    this.wait = Wait.None;
    this.deadline = Infinity;
    this.socket.ref();
    const abort = (err?: Error): void => this.abort(req, err ?? new errors.RequestAbortedError());
    try {
      req.handler.onConnect?.(abort);
    } catch (err) {
      this.abort(req, err as Error);
    }
    if (req.done) return;
    if (req.reset || req.method === "HEAD") {
      // undici closes after a HEAD: a server that wrongly sends a body would have it read as the next answer.
      this.reusable = false;
    }
    this.wait = Wait.Headers;
    this.deadline = this.ctx.now() + this.ctx.headersTimeoutMs;
    const body = req.body;
    if (body === null) this.writeEmpty(req);
    else if (Buffer.isBuffer(body)) this.writeBuffer(req, body);
    else this.writeStream(body as Readable);
  }

  private writeEmpty(req: H1Request): void {
    const head = req.head(this.ctx.hostHeader, this.reusable);
    const length = req.contentLength;
    if (length !== null && length > 0) {
      this.abort(req, new errors.RequestContentLengthMismatchError());
      return;
    }
    this.socket.write(length === 0 && req.expectsPayload ? `${head}content-length: 0\r\n\r\n` : `${head}\r\n`, "latin1");
    this.sent(req);
  }

  private writeBuffer(req: H1Request, body: Buffer): void {
    if (req.contentLength !== null && req.contentLength !== body.length) {
      this.abort(req, new errors.RequestContentLengthMismatchError());
      return;
    }
    if (!req.expectsPayload) this.reusable = false;
    const socket = this.socket;
    socket.cork();
    socket.write(`${req.head(this.ctx.hostHeader, this.reusable)}content-length: ${body.length}\r\n\r\n`, "latin1");
    socket.write(body);
    socket.uncork();
    req.handler.onBodySent?.(body);
    this.sent(req);
  }

  private writeStream(body: Readable): void {
    this.writing = true;
    this.bodyBytes = 0;
    this.chunked = this.req!.contentLength === null;
    body.on("data", this.onBodyData).on("end", this.onBodyEnd).on("error", this.onBodyError).on("close", this.onBodyClose);
    if (body.readableEnded) setImmediate(this.onBodyEnd);
    else body.resume();
  }

  private bodyData(chunk: Buffer | string): void {
    const req = this.req;
    if (!this.writing || req === null) return;
    const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (data.length === 0) return;
    const limit = req.contentLength;
    if (limit !== null && this.bodyBytes + data.length > limit) {
      this.abort(req, new errors.RequestContentLengthMismatchError());
      return;
    }
    const socket = this.socket;
    socket.cork();
    if (this.bodyBytes === 0) {
      if (!req.expectsPayload) this.reusable = false;
      const head = req.head(this.ctx.hostHeader, this.reusable);
      socket.write(this.chunked ? `${head}transfer-encoding: chunked\r\n` : `${head}content-length: ${limit}\r\n\r\n`, "latin1");
    }
    // Chunked: each chunk's size line starts with the CRLF that ends the head or the chunk before it.
    if (this.chunked) socket.write(`\r\n${data.length.toString(16)}\r\n`, "latin1");
    this.bodyBytes += data.length;
    const more = socket.write(data);
    socket.uncork();
    this.touched = true;
    req.handler.onBodySent?.(data);
    if (!more && this.writing) (this.req?.body as Readable | undefined)?.pause();
  }

  private bodyEnd(): void {
    const req = this.req;
    if (!this.writing || req === null) return;
    this.stopBody(req.body as Readable);
    if (req.contentLength !== null && this.bodyBytes !== req.contentLength) {
      this.abort(req, new errors.RequestContentLengthMismatchError());
      return;
    }
    if (this.bodyBytes === 0) {
      const head = req.head(this.ctx.hostHeader, this.reusable);
      this.socket.write(req.expectsPayload ? `${head}content-length: 0\r\n\r\n` : `${head}\r\n`, "latin1");
    } else if (this.chunked) this.socket.write("\r\n0\r\n\r\n", "latin1");
    this.touched = true;
    this.sent(req);
  }

  private stopBody(body: Readable): void {
    this.writing = false;
    body.off("data", this.onBodyData).off("end", this.onBodyEnd).off("error", this.onBodyError).off("close", this.onBodyClose);
  }

  private onDrain(): void {
    if (this.writing) (this.req?.body as Readable | undefined)?.resume();
  }

  private sent(req: H1Request): void {
    try {
      req.handler.onRequestSent?.();
    } catch (err) {
      this.abort(req, err as Error);
    }
  }

  /**
   * Ends `req` with `err` (the abort undici hands to onConnect, and every failure of a request in progress). A
   * request of which nothing was written leaves the connection as it was; otherwise the connection closes.
   */
  private abort(req: H1Request | null, err: Error): void {
    if (req === null || req.done || this.req !== req) return;
    const untouched = this.wait === Wait.None && !this.writing;
    this.req = null;
    const body = req.body;
    if (this.writing) this.stopBody(body as Readable);
    req.fail(err);
    if (body !== null && !Buffer.isBuffer(body)) destroyBody(body);
    if (untouched && this.connected && !this.closed) {
      this.ctx.released(this);
      return;
    }
    this.destroy(err);
  }

  // --- receiving -------------------------------------------------------------------------------------------

  private onData(d: Buffer): void {
    if (this.closed) return;
    this.touched = true;
    const r = this.parser.execute(d);
    if (isParseError(r)) this.destroy(this.req !== null ? parserError(r) : new errors.SocketError("bad response"));
  }

  private onMessageBegin(): void {
    // Bytes no request asked for (after a complete answer, or on an idle connection): undici's "bad response".
    if (this.req === null && !this.closed) this.destroy(new errors.SocketError("bad response"));
  }

  private onHeadersComplete(headers: string[] | undefined, status: number, text: string, upgrade: boolean, keepAlive: boolean): number {
    if (headers === undefined) {
      headers = this.pendingHeaders;
      this.pendingHeaders = [];
    }
    const req = this.req;
    if (req === null || this.closed) return 2;
    if (upgrade) {
      this.destroy(new errors.SocketError("bad upgrade"));
      return 2;
    }
    if (status < 200) {
      // An interim answer (RFC 9110 §15.2): a 100 Continue, which no request of this client asks for (it sends no
      // Expect), is dropped; any other (102, 103) goes to the handler as undici passes it; the final answer follows.
      if (status !== 100) this.callHeaders(req, status, headers, text);
      return 1;
    }
    this.status = status;
    this.keepAlive = keepAlive;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name.length === 10 && name.toLowerCase() === "keep-alive") {
        const m = KEEP_ALIVE_TIMEOUT.exec(headers[i + 1]!);
        if (m !== null) {
          const ms = Math.min(Number(m[1]) * 1000 - KEEP_ALIVE_THRESHOLD_MS, KEEP_ALIVE_MAX_MS);
          if (ms <= 0) this.reusable = false;
          else this.keepAliveMs = ms;
        }
      } else if ((status === 204 || status === 304) && name.length === 14 && name.toLowerCase() === "content-length" && headers[i + 1] !== "0") {
        // A bodiless answer that announced a body (RFC 9112 §6.3): whatever it sends after the head is no answer.
        this.reusable = false;
      }
    }
    this.wait = Wait.Body;
    this.deadline = this.ctx.now() + this.ctx.bodyTimeoutMs;
    if (this.callHeaders(req, status, headers, text) === false && !req.done) this.pause();
    if (req.done || this.closed) return 2;
    return req.method === "HEAD" ? 1 : 0;
  }

  private callHeaders(req: H1Request, status: number, headers: string[], text: string): boolean {
    try {
      return req.handler.onHeaders!(status, headers, this.resume, text);
    } catch (err) {
      this.abort(req, err as Error);
      return false;
    }
  }

  private onBody(b: Buffer): void {
    const req = this.req;
    if (req === null || req.done) return;
    if (this.paused) {
      this.held.push(b);
      return;
    }
    this.deliver(req, b);
  }

  private deliver(req: H1Request, b: Buffer): void {
    let more: boolean;
    try {
      more = req.handler.onData!(b) !== false;
    } catch (err) {
      this.abort(req, err as Error);
      return;
    }
    if (!more && !req.done) this.pause();
  }

  private pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  private resumeResponse(): void {
    if (!this.paused) return;
    this.paused = false;
    while (this.held.length > 0) {
      const req = this.req;
      const b = this.held.shift()!;
      if (req === null || req.done) {
        this.held.length = 0;
        break;
      }
      this.deliver(req, b);
      if (this.paused) return;
    }
    const trailers = this.heldComplete;
    if (trailers !== null) {
      this.heldComplete = null;
      this.complete(trailers);
    }
    if (!this.closed && !this.paused) this.socket.resume();
  }

  private onMessageComplete(): void {
    const req = this.req;
    if (req === null || req.done || this.closed) return;
    if (this.status === 0) return; // the end of an interim answer
    const trailers = this.pendingHeaders.length > 0 ? this.pendingHeaders : EMPTY;
    this.pendingHeaders = [];
    if (this.paused) this.heldComplete = trailers;
    else this.complete(trailers);
  }

  private complete(trailers: string[]): void {
    const req = this.req!;
    this.req = null;
    this.status = 0;
    this.wait = Wait.None;
    this.deadline = Infinity;
    // The answer came before the request was all sent (an early 413, say): undici then closes the connection and
    // ends the body stream it was reading.
    const early = this.writing;
    if (early) this.stopBody(req.body as Readable);
    const reuse = this.reusable && this.keepAlive && !early;
    req.done = true;
    try {
      req.handler.onComplete?.(trailers);
    } catch (err) {
      req.handler.onError!(err as Error);
    }
    if (early) process.nextTick(destroyBody, req.body as Readable);
    if (!reuse) {
      this.destroy(new errors.InformationalError("reset"));
      return;
    }
    // Reused a full event loop turn later, as undici does, so that a FIN or RST the upstream sent right after its
    // answer (despite keep-alive) is seen before another request is written.
    setImmediate(settle, this);
  }

  /** The turn after a complete answer: idle, with the keep-alive deadline. */
  settled(): void {
    if (this.closed || this.req !== null) return;
    this.wait = Wait.Idle;
    this.deadline = this.ctx.now() + this.keepAliveMs;
    this.socket.unref();
    this.ctx.released(this);
  }

  // --- ending ----------------------------------------------------------------------------------------------

  private onEnd(): void {
    // An answer framed by the end of the connection (no Content-Length, not chunked) ends here.
    if (this.req !== null && this.status !== 0 && !this.keepAlive) {
      const r = this.parser.finish();
      if (isParseError(r)) this.destroy(parserError(r));
      else if (this.req !== null && this.heldComplete === null) this.destroy(new errors.SocketError("other side closed"));
      else this.socket.destroy();
      return;
    }
    this.destroy(new errors.SocketError("other side closed"));
  }

  private onSocketError(err: Error): void {
    if (!this.connected) {
      this.ctx.connectFailed(this, err);
      this.destroy(err);
      return;
    }
    if ((err as { code?: unknown }).code === "ECONNRESET" && this.req !== null && this.status !== 0 && !this.keepAlive) {
      const r = this.parser.finish();
      if (isParseError(r)) err = parserError(r);
    }
    this.destroy(err);
  }

  /** Closes the connection; the request on it, if any, ends with `err`. */
  destroy(err: Error): void {
    this.error ??= err;
    const req = this.req;
    if (req !== null && !req.done) {
      this.req = null;
      const body = req.body;
      const wasWriting = this.writing;
      if (wasWriting) this.stopBody(body as Readable);
      req.fail(err);
      if (wasWriting) destroyBody(body as Readable);
    }
    if (!this.closed) this.socket.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const req = this.req;
    if (req !== null && this.heldComplete === null) this.destroy(this.error ?? new errors.SocketError("closed"));
    this.ctx.gone(this);
    // The parser may be inside a callback of its own: freed on the next turn.
    setImmediate(() => this.parser.close());
  }

  /** The pool's periodic check: the headers, body and keep-alive deadlines. */
  check(now: number): void {
    if (this.closed || this.wait === Wait.None) return;
    if (this.touched && this.wait !== Wait.Idle) {
      this.touched = false;
      this.deadline = now + (this.wait === Wait.Headers ? this.ctx.headersTimeoutMs : this.ctx.bodyTimeoutMs);
      return;
    }
    if (now < this.deadline) return;
    if (this.wait === Wait.Headers) this.destroy(new errors.HeadersTimeoutError());
    else if (this.wait === Wait.Body) {
      if (!this.paused) this.destroy(new errors.BodyTimeoutError());
    } else this.destroy(new errors.InformationalError("socket idle timeout"));
  }
}

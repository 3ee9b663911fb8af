// One client connection of the llhttp codec (issue 19): the bytes of a net.Socket or tls.TLSSocket through Node's
// llhttp (host/server/http1/llhttp.ts) into node:http's own request object (IncomingMessage: the same headers,
// rawHeaders, body stream and abort behaviour Pipeline.handle reads from node:http), answered through
// host/server/http1/response.ts.
//
// node:http's server rules are kept (test/http1-differential.test.ts holds the codec to them): an HTTP/1.1 request without Host is 400,
// an Expect other than 100-continue is 417 and 100-continue is answered at once, CONNECT is refused (405,
// host/server/listener-guard.ts), the HTTP/2 preface (PRI) closes the connection, a parse error answers
// 400/413/431 and closes. Pipelined requests are answered in order, one at a time: a request waits, parsed,
// until the one before it is answered, and the socket is not read while one waits, so a flood of pipelined
// requests costs one socket read of memory. A request body is read as the request path reads it: a full body
// stream pauses the socket (backpressure); an unread body is read and dropped once the answer is sent, so the
// connection can carry the next request.

import { IncomingMessage } from "node:http";
import { maxHeaderSize } from "node:http";
import type { Socket } from "node:net";
import { clientErrorStatus, CONNECT_405, TIMEOUT_408, type ListenerClose } from "../listener-guard.js";
import { HTTPParser, isParseError, lenientFlags, METHODS, type NativeParser } from "./llhttp.js";
import { Http1Response, type ResponseSink } from "./response.js";

/** What every connection of one listener shares (host/server/http1/server.ts). */
export interface ConnectionContext {
  readonly handler: (req: IncomingMessage, res: Http1Response) => void;
  readonly closed: (reason: ListenerClose) => void;
  readonly headerTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly now: () => number;
  readonly date: () => string;
  /** The connection closed: the listener forgets it. */
  readonly gone: (c: Http1Connection) => void;
  /** The listener is closing (closeIdleConnections was called): connections close after their answer. */
  readonly draining: () => boolean;
}

/** Where the parser is in the byte stream. */
const enum Reading {
  /** Between messages: nothing of the next request has arrived. */
  Between,
  Head,
  Body,
  /** No more requests are read (closing, after CONNECT or a parse error). */
  Stopped,
}

/** A request whose head is parsed, waiting for its turn or being answered. */
interface Turn {
  readonly req: Incoming;
  readonly res: Http1Response;
  /** What answers it: the request path, or one of node:http's own answers (400 no Host, 417). */
  readonly answer: ((req: IncomingMessage, res: Http1Response) => void) | null;
  readonly expectContinue: boolean;
}

/** node:http's IncomingMessage with the members node:http's own server calls on it (not in its public types). */
type Incoming = IncomingMessage & { upgrade: boolean; _dumped: boolean; _addHeaderLines(headers: string[], n: number): void; _dump(): void };

/**
 * node:http keeps this many header entries (names and values) of a head or trailer block, no more, and drops the
 * rest; so does the codec (test/http1-differential.test.ts sends blocks past it to both).
 */
const MAX_HEADER_ENTRIES = 2000;

const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

function noop(): void {}

function answerNoHost(_req: IncomingMessage, res: Http1Response): void {
  res.writeHead(400, ["connection", "close"]);
  res.end();
}

function answerExpectation(_req: IncomingMessage, res: Http1Response): void {
  res.writeHead(417);
  res.end();
}

/** What node:http does when the client resets: the requests not yet complete end with this error. */
function aborted(): Error {
  return Object.assign(new Error("aborted"), { code: "ECONNRESET" });
}

export class Http1Connection implements ResponseSink {
  private readonly parser: NativeParser;
  private reading = Reading.Head;
  /** The request whose bytes the parser is in (its body is pushed to it), if any. */
  private incoming: Incoming | null = null;
  private readonly turns: Turn[] = [];
  /** A response is being written for turns[0]. */
  private active = false;
  /** The socket is paused because a request waits for its turn (not for body backpressure). */
  private held = false;
  /** After the current answer: close (Connection: close, a keep-alive-less HTTP/1.0 client). */
  private last = false;
  private headDeadline: number;
  private requestDeadline: number;
  private idleDeadline = Infinity;
  private pendingHeaders: string[] = [];
  private pendingUrl = "";
  private done = false;
  /** A response ended in this tick (cleared on the next): see refuse. */
  justEnded = false;

  constructor(private readonly ctx: ConnectionContext, readonly socket: Socket) {
    const now = ctx.now();
    this.headDeadline = now + ctx.headerTimeoutMs;
    this.requestDeadline = ctx.requestTimeoutMs > 0 ? now + ctx.requestTimeoutMs : Infinity;
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {}, maxHeaderSize, lenientFlags());
    p[HTTPParser.kOnMessageBegin] = () => this.onMessageBegin();
    p[HTTPParser.kOnHeaders] = (headers: string[], url: string) => this.onHeaders(headers, url);
    p[HTTPParser.kOnHeadersComplete] = (major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, _s: unknown, _m: unknown, upgrade: boolean, keepAlive: boolean) =>
      this.onHeadersComplete(major, minor, headers, method, url, upgrade, keepAlive);
    p[HTTPParser.kOnBody] = (b: Buffer) => this.onBody(b);
    p[HTTPParser.kOnMessageComplete] = () => this.onMessageComplete();
    this.parser = p;
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("end", () => this.onEnd());
    socket.on("error", noop);
    socket.on("close", () => this.onClose());
    socket.on("drain", () => this.onDrain());
  }

  // --- reading ----------------------------------------------------------------------------------------

  private onData(d: Buffer): void {
    if (this.reading === Reading.Stopped) return;
    const r = this.parser.execute(d);
    if (isParseError(r)) this.refuse(clientErrorStatus(r.code), null);
  }

  private onEnd(): void {
    if (this.done) return;
    if (this.reading !== Reading.Stopped) {
      const r = this.parser.finish();
      if (isParseError(r)) {
        this.refuse(clientErrorStatus(r.code), null);
        return;
      }
    }
    // node:http (httpAllowHalfOpen false) ends its side when the client ends its own, so a client that ends
    // while a request is being answered has left: closing aborts what is in flight, upstream included.
    this.reading = Reading.Stopped;
    if (this.turns.length === 0) this.socket.end();
    else this.socket.destroy();
  }

  private onMessageBegin(): void {
    if (this.reading === Reading.Between) {
      const now = this.ctx.now();
      this.headDeadline = now + this.ctx.headerTimeoutMs;
      this.requestDeadline = this.ctx.requestTimeoutMs > 0 ? now + this.ctx.requestTimeoutMs : Infinity;
    }
    this.reading = Reading.Head;
    this.idleDeadline = Infinity;
  }

  /** Header lines flushed before the head is complete (a head split across reads, or over 32 lines). */
  private onHeaders(headers: string[], url: string): void {
    if (this.pendingHeaders.length < MAX_HEADER_ENTRIES) for (let i = 0; i < headers.length; i++) this.pendingHeaders.push(headers[i]!);
    this.pendingUrl += url;
  }

  private onHeadersComplete(major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    if (headers === undefined) {
      headers = this.pendingHeaders;
      this.pendingHeaders = [];
    }
    if (url === undefined) {
      url = this.pendingUrl;
      this.pendingUrl = "";
    }
    // A request after the one that closes the connection is parsed (the bytes were sent) but never answered.
    if (this.last) return 0;
    const name = METHODS[method] ?? "";
    if (name === "CONNECT") {
      // A tunnel this proxy does not make (host/server/listener-guard.ts answers node:http's the same way).
      this.ctx.closed("connect_refused");
      this.reading = Reading.Stopped;
      this.last = true;
      // node:http hands the socket to its 'connect' listener: the requests before it are never answered.
      this.socket.write(CONNECT_405, "latin1");
      this.abortTurns();
      this.finishSocket();
      return 2;
    }
    if (name === "PRI") {
      // The HTTP/2 preface on an HTTP/1.1 connection: node:http closes it.
      this.reading = Reading.Stopped;
      this.socket.destroy();
      return 2;
    }
    const req = new IncomingMessage(this.socket) as Incoming;
    req.httpVersionMajor = major;
    req.httpVersionMinor = minor;
    req.httpVersion = `${major}.${minor}`;
    req.url = url;
    req.method = name;
    req.upgrade = upgrade;
    req._addHeaderLines(headers, Math.min(headers.length, MAX_HEADER_ENTRIES));
    this.reading = Reading.Body;
    this.incoming = req;
    const res = new Http1Response(this, keepAlive, name === "HEAD", major === 1 && minor === 0);
    let answer: Turn["answer"] = null;
    let expectContinue = false;
    if (major === 1 && minor === 1) {
      const h = req.headers;
      if (h.host === undefined) answer = answerNoHost;
      else if (h.expect !== undefined) {
        if (CONTINUE.test(h.expect)) expectContinue = true;
        else answer = answerExpectation;
      }
    }
    this.turns.push({ req, res, answer, expectContinue });
    if (this.turns.length === 1) this.next();
    else if (!this.held) {
      // A pipelined request waits for the one before it; stop reading until its turn.
      this.held = true;
      (this.socket as { _paused?: boolean })._paused = true;
      this.socket.pause();
    }
    return 0;
  }

  private onBody(b: Buffer): void {
    const req = this.incoming;
    if (req === null || req._dumped) return;
    if (!req.push(b)) this.socket.pause();
  }

  private onMessageComplete(): void {
    const req = this.incoming;
    this.incoming = null;
    this.reading = this.reading === Reading.Stopped ? Reading.Stopped : Reading.Between;
    if (req === null) return;
    req.complete = true;
    if (this.pendingHeaders.length > 0) {
      // Trailers.
      req._addHeaderLines(this.pendingHeaders, this.pendingHeaders.length);
      this.pendingHeaders = [];
      this.pendingUrl = "";
    }
    req.push(null);
    // The body is all here: what paused the socket for it no longer holds (node:http's readStart here too).
    if (!this.held) this.socket.resume();
    if (!this.justEnded) this.maybeAdvance();
    this.setIdleIfQuiet();
  }

  // --- answering --------------------------------------------------------------------------------------

  /** Hands turns[0] to whoever answers it. */
  private next(): void {
    const turn = this.turns[0];
    if (turn === undefined || this.socket.destroyed) return;
    this.active = true;
    if (this.held && this.turns.length === 1) {
      this.held = false;
      (this.socket as { _paused?: boolean })._paused = false;
      this.socket.resume();
    }
    if (turn.expectContinue) turn.res.writeContinue();
    (turn.answer ?? this.ctx.handler)(turn.req, turn.res);
  }

  /**
   * ResponseSink: turns[0]'s response ended. The next request is handed on in the next tick, as node:http writes a
   * pipelined request's answer only once the one before it finished writing.
   */
  ended(res: Http1Response, keepAlive: boolean): void {
    const turn = this.turns[0];
    if (turn === undefined || turn.res !== res) return;
    this.active = false;
    this.justEnded = true;
    process.nextTick(afterEnd, this, res);
    if (!keepAlive) {
      this.last = true;
      this.reading = Reading.Stopped;
    }
    if (this.last) {
      this.turns.length = 0;
      this.finishSocket();
      return;
    }
    const req = turn.req;
    if (!req.complete) {
      // An unread body is read and dropped (node:http's _dump), so the next request on the connection is found.
      if (!req._dumped) req._dump();
      if (this.socket.isPaused() && !this.held) this.socket.resume();
    }
  }

  /** Hands on the next request once the one answered is also wholly read. */
  maybeAdvance(): void {
    const turn = this.turns[0];
    if (this.active || turn === undefined || !turn.res.finished || !turn.req.complete) return;
    this.turns.shift();
    if (this.turns.length > 0) this.next();
    else this.setIdleIfQuiet();
  }

  private setIdleIfQuiet(): void {
    if (!this.active && this.turns.length === 0 && this.reading === Reading.Between) this.idleDeadline = this.ctx.now() + this.ctx.idleTimeoutMs;
  }

  write(data: string | Buffer, _last: boolean): boolean {
    if (this.socket.destroyed) return false;
    return typeof data === "string" ? this.socket.write(data, "latin1") : this.socket.write(data);
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  date(): string {
    return this.ctx.date();
  }

  draining(): boolean {
    return this.ctx.draining();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onDrain(): void {
    const res = this.turns[0]?.res;
    if (res !== undefined && res.needDrain) {
      res.needDrain = false;
      res.emit("drain");
    }
  }

  /**
   * An answer of the connection's own (a parse error's status line, or null: 408), after which the connection
   * closes and the requests on it are aborted, as node:http does. Like node:http it writes nothing once an answer
   * has begun, or has just ended: node:http still counts a response as the socket's until its write completes.
   */
  private refuse(status: string | null, reason: ListenerClose | null): void {
    this.reading = Reading.Stopped;
    if (reason !== null) this.ctx.closed(reason);
    const res = this.turns[0]?.res;
    if (!this.socket.writable || this.justEnded || (res !== undefined && res.headersSent && !res.finished)) {
      this.abortTurns();
      this.socket.destroy();
      return;
    }
    this.socket.write(status === null ? TIMEOUT_408 : `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, "latin1");
    this.abortTurns();
    this.finishSocket();
  }

  private abortTurns(): void {
    // As node:http's abortIncoming: every request not yet answered ends in an abort, even one whose body was
    // all read but not yet consumed.
    for (const t of this.turns.splice(0)) {
      if (!t.req.readableEnded) t.req.destroy(aborted());
      t.res.closed();
    }
    this.active = false;
  }

  private finishSocket(): void {
    // Ends our side once written, and does not wait for the client's: a client that keeps its side open gets
    // no more than the answer.
    this.socket.end();
    this.socket.once("finish", () => this.socket.destroy());
  }

  // --- the listener's checks --------------------------------------------------------------------------

  /** Called on the listener's interval: applies the header, request and idle deadlines. */
  check(now: number): void {
    if (this.done) return;
    if (this.reading === Reading.Head && now >= this.headDeadline) this.refuse(null, "header_timeout");
    else if (this.reading === Reading.Body && now >= this.requestDeadline) this.refuse(null, "request_timeout");
    else if (now >= this.idleDeadline && this.turns.length === 0) {
      this.ctx.closed("idle_timeout");
      this.done = true;
      this.socket.destroy();
    }
  }

  /** Closes the connection if no request is being answered on it (node:http's closeIdleConnections). */
  closeIfIdle(): void {
    if (this.turns.length === 0) this.socket.destroy();
  }

  private onClose(): void {
    this.done = true;
    this.reading = Reading.Stopped;
    this.abortTurns();
    this.incoming = null;
    this.ctx.gone(this);
    // The parser may be in the middle of a callback of its own: freed on the next turn.
    setImmediate(() => this.parser.close());
  }
}

function afterEnd(c: Http1Connection, res: Http1Response): void {
  c.justEnded = false;
  res.closed();
  c.maybeAdvance();
}

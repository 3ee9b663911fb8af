// The Node servers behind one listener (issue 15): node:http for cleartext HTTP/1.1, node:https where the
// filter chain has a tls_context (or, with `http1_codec: "llhttp"`, a net or tls server whose connections the codec
// of host/server/http1/ serves, issue 19), and node:http2 where downstream_protocol is Http2 or Auto — h2 by ALPN on TLS,
// h2c by prior knowledge on cleartext. Whatever the protocol, requests reach the same handler (Pipeline.handle,
// HTTP/2 ones through host/server/http2-request.ts) and HTTP/1.1 connections the same guards
// (host/server/listener-guard.ts); this file only chooses the servers and hands each connection to one.
//
// Where both protocols share a port, a front server owns it (net, or tls with ALPN) and passes each connection
// to an HTTP/1.1 server or an HTTP/2 server that never listen themselves: the choice is ALPN's on TLS, and on
// cleartext whether the first bytes are the HTTP/2 connection preface (RFC 9113 §3.4).

import { errorAnswer } from "../proxy/errors.js";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { constants, createServer as createHttp2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from "node:http2";
import { createServer as createNetServer, Server as NetServerClass, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from "node:tls";
import { systemClock, type Clock } from "../cluster/clock.js";
import type { ListenerConfig } from "../config/types.js";
import { guardHttp2Session } from "./http2-deadlines.js";
import { asHttp1Shape, asNodeHttp } from "./http2-request.js";
import { Http1Codec } from "./http1/server.js";
import { guardListener, serverTimeouts, type ListenerClose } from "./listener-guard.js";
import type { SniContexts } from "./sni.js";
import type { ServerCredentials } from "./tls-credentials.js";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ListenerServerOptions {
  /** The listener's tls_context, already loaded (with a tls_context_set, its first context); null: cleartext. */
  readonly credentials: ServerCredentials | null;
  /** With a tls_context_set: its contexts, chosen by the client's SNI. */
  readonly sni?: SniContexts | null;
  readonly handler: RequestHandler;
  /** Told each connection the listener closes itself, and why (metrics count them). */
  readonly closed: (reason: ListenerClose) => void;
  /** Told each HTTP/2 stream the client resets. */
  readonly streamReset?: () => void;
  /** For the HTTP/2 deadlines (host/server/http2-deadlines.ts); the process clock by default. node:http and the
   * llhttp codec keep their own timers, as they did before a host had a clock. */
  readonly clock?: Clock;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export class ListenerServer {
  private readonly sessions = new Set<ServerHttp2Session>();

  private constructor(
    /** The server that owns the port. */
    readonly raw: HttpServer | HttpsServer | NetServer | TlsServer,
    readonly tls: boolean,
    private readonly h1: HttpServer | HttpsServer | null,
    h2: Http2Server | null,
    /** The llhttp codec serving HTTP/1.1 instead of node:http (`http1_codec: "llhttp"`). */
    private readonly codec: Http1Codec | null = null,
  ) {
    h2?.on("session", (s: ServerHttp2Session) => {
      this.sessions.add(s);
      s.once("close", () => this.sessions.delete(s));
    });
  }

  /** A server for `l`, TLS when `credentials` are given (the listener's tls_context, already loaded). */
  static create(l: ListenerConfig, o: ListenerServerOptions): ListenerServer {
    const { credentials, handler, closed } = o;
    const sni = o.sni != null ? { SNICallback: o.sni.callback } : {};
    const streamReset = o.streamReset ?? (() => undefined);
    const clock = o.clock ?? systemClock;
    const timeouts = serverTimeouts(l.limits);
    const protocol = l.downstreamProtocol;
    const codec = l.http1Codec === "llhttp" ? new Http1Codec({ limits: l.limits, handler, closed }) : null;
    if (protocol === "http1" && codec !== null) {
      // As node:http and node:https make theirs: no Nagle delay; half-open cleartext connections, whose end the
      // codec handles itself (a TLS one that allowed it would hide a handshake the client gave up on).
      const raw = credentials === null
        ? createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => codec.connection(socket))
        : createTlsServer({ noDelay: true, cert: credentials.cert, key: credentials.key, ...sni, ...clientCertificates(l, credentials), handshakeTimeout: l.limits.headerTimeoutMs, ALPNProtocols: ["http/1.1"] }, (socket) => {
          if (l.tls?.clientAuth !== "require" || requireCertificate(socket, closed)) codec.connection(socket);
        });
      raw.maxConnections = l.limits.maxConnections;
      raw.on("drop", () => closed("connection_limit"));
      if (credentials !== null) countHandshakeFailures(raw as TlsServer, closed);
      return new ListenerServer(raw, credentials !== null, null, null, codec);
    }
    if (protocol === "http1") {
      const raw = credentials === null
        ? createHttpServer(timeouts, handler)
        // A client that never finishes its handshake is held no longer than one that never finishes its head.
        : createHttpsServer({ ...timeouts, cert: credentials.cert, key: credentials.key, ...sni, ...clientCertificates(l, credentials), handshakeTimeout: l.limits.headerTimeoutMs }, handler);
      guardListener(raw, l.limits, closed);
      if (credentials !== null) {
        countHandshakeFailures(raw as HttpsServer, closed);
        if (l.tls?.clientAuth === "require") raw.prependListener("secureConnection", (socket: TLSSocket) => requireCertificate(socket, closed));
      }
      return new ListenerServer(raw, credentials !== null, raw, null);
    }

    const lim = l.limits.http2;
    const h2 = createHttp2Server({
      settings: { maxConcurrentStreams: lim.maxConcurrentStreams, maxHeaderListSize: lim.maxHeaderListSize, initialWindowSize: lim.initialWindowSize },
    }, (req: Http2ServerRequest, res: Http2ServerResponse) => {
      const refused = asHttp1Shape(req, res);
      if (refused !== null) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(errorAnswer("E_REQUEST_INVALID", refused));
        return;
      }
      const [r, s] = asNodeHttp(req, res);
      handler(r, s);
    });
    h2.on("session", (session: ServerHttp2Session) => guardResets(session, lim.maxStreamResetsPerSecond, streamReset, () => closed("http2_rapid_reset")));
    h2.on("sessionError", (err: NodeJS.ErrnoException) => {
      const reason = protocolClose(err);
      if (reason !== null) closed(reason);
    });
    // header_timeout, request_timeout and idle_timeout, per session and stream.
    h2.on("session", (session: ServerHttp2Session) => guardHttp2Session(session, l.limits, closed, clock));
    const h1 = protocol === "auto" && codec === null ? createHttpServer(timeouts, handler) : null;
    if (h1 !== null) guardListener(h1, l.limits, closed);
    const toH1 = (socket: Socket) => {
      if (codec !== null && protocol === "auto") {
        codec.connection(socket);
        return;
      }
      if (h1 === null) {
        socket.destroy();
        return;
      }
      h1.emit("connection", socket);
    };

    let raw: NetServer | TlsServer;
    if (credentials !== null) {
      raw = createTlsServer({
        cert: credentials.cert,
        key: credentials.key,
        ...sni,
        ...clientCertificates(l, credentials),
        handshakeTimeout: l.limits.headerTimeoutMs,
        ALPNProtocols: protocol === "auto" ? ["h2", "http/1.1"] : ["h2"],
      }, (socket: TLSSocket) => {
        if (l.tls?.clientAuth === "require" && !requireCertificate(socket, closed)) return;
        if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
        else toH1(socket);
      });
      countHandshakeFailures(raw as TlsServer, closed);
    } else if (protocol === "http2") {
      raw = createNetServer((socket) => h2.emit("connection", socket));
    } else {
      raw = createNetServer((socket) => sniff(socket, (sock) => h2.emit("connection", sock), toH1));
    }
    raw.maxConnections = l.limits.maxConnections;
    raw.on("drop", () => closed("connection_limit"));
    // node:http starts tracking its connections (header and request deadlines, closeAllConnections) when it
    // emits 'listening'; the front owns the port, so the HTTP/1.1 server is told when the front listens.
    if (h1 !== null) raw.once("listening", () => h1.emit("listening"));
    return new ListenerServer(raw, credentials !== null, h1, h2, protocol === "auto" ? codec : null);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    // Listening again after release(): node:http starts a second connections-checking timer on each
    // 'listening' and its close() clears only the last, so the first is cleared here.
    const checking = Object.getOwnPropertySymbols(this.raw).find((s) => s.description === "http.server.connectionsCheckingInterval");
    if (checking !== undefined) clearInterval((this.raw as unknown as Record<symbol, NodeJS.Timeout | undefined>)[checking]);
    return new Promise<AddressInfo>((resolve, reject) => {
      this.raw.once("error", reject);
      this.raw.listen(port, host, () => {
        this.raw.off("error", reject);
        resolve(this.raw.address() as AddressInfo);
      });
    });
  }

  /** Serves `c` to every handshake from now on; connections already open keep theirs. */
  setCredentials(c: ServerCredentials): void {
    (this.raw as TlsServer).setSecureContext({ cert: c.cert, key: c.key, ...(c.ca !== null ? { ca: c.ca } : {}) });
  }

  address(): AddressInfo | null {
    return this.raw.address() as AddressInfo | null;
  }

  closeIdleConnections(): void {
    this.h1?.closeIdleConnections();
    this.codec?.closeIdleConnections();
    // GOAWAY: streams in flight finish, no new ones start.
    for (const s of this.sessions) s.close();
  }

  closeAllConnections(): void {
    this.h1?.closeAllConnections();
    this.codec?.closeAllConnections();
    for (const s of this.sessions) s.destroy();
  }

  /**
   * Frees the port and accepts no new connection, but leaves the connections open and the servers' timers running:
   * a reload that must bind the same address again (host/server/host.ts applyConfig) then either close()s this
   * for good or, when that bind failed, listen()s again. node:http's close() would also close idle connections.
   */
  release(): void {
    NetServerClass.prototype.close.call(this.raw);
  }

  close(done: () => void): void {
    if (this.h1 !== null && this.h1 !== this.raw) {
      // Stops node:http's connection checks; it never listened, so its own close() would only report that.
      this.h1.emit("close");
    }
    this.codec?.close();
    this.raw.close(() => done());
  }
}

/**
 * Rapid reset (CVE-2023-44487): a client that opens streams and resets them at once makes the proxy start
 * requests (routing, plugins, an upstream attempt) that nobody waits for, without ever having many streams
 * open. Every stream the client resets is counted; past `perSecond` of them within one second the connection
 * gets GOAWAY ENHANCE_YOUR_CALM and is closed, and its streams in flight with it.
 */
function guardResets(session: ServerHttp2Session, perSecond: number, reset: () => void, exceeded: () => void): void {
  let windowStart = 0;
  let inWindow = 0;
  session.on("stream", (stream) => {
    stream.once("close", () => {
      // NGHTTP2_NO_ERROR is a normal end; a code set while the response had not ended is the client's reset.
      if (stream.rstCode === constants.NGHTTP2_NO_ERROR || session.destroyed) return;
      reset();
      const now = performance.now();
      if (now - windowStart >= 1_000) {
        windowStart = now;
        inWindow = 0;
      }
      if (++inWindow === perSecond + 1) {
        exceeded();
        session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.destroy();
      }
    });
  });
}

/**
 * Why nghttp2 ended a connection itself, or null for a connection that merely broke (a reset, EPIPE). nghttp2
 * bounds the CONTINUATION frames of one header block (the CONTINUATION flood of CVE-2024-27316 and kin: an
 * endless header block that a server would buffer) and the frames a client makes the proxy answer without
 * reading the answers (SETTINGS and PING floods); either ends the session with an ERR_HTTP2_ERROR whose errno
 * is nghttp2's code (nghttp2.h: NGHTTP2_ERR_TOO_MANY_CONTINUATIONS -905, NGHTTP2_ERR_FLOODED -904).
 */
function protocolClose(err: NodeJS.ErrnoException): ListenerClose | null {
  if (err.code !== "ERR_HTTP2_ERROR") return null;
  if (err.errno === -905) return "http2_continuation_flood";
  if (err.errno === -904) return "http2_flood";
  return "http2_protocol_error";
}

/**
 * node:tls options for the listener's client certificates (host/config/tls.ts ClientAuth): "verify" asks for
 * one and fails the handshake unless it chains to ca_cert; "require" asks for one and takes any, the check that
 * one came being requireCertificate's.
 */
function clientCertificates(l: ListenerConfig, c: ServerCredentials): { requestCert?: boolean; rejectUnauthorized?: boolean; ca?: string } {
  const auth = l.tls?.clientAuth ?? "none";
  if (auth === "none") return {};
  return { requestCert: true, rejectUnauthorized: auth === "verify", ...(c.ca !== null ? { ca: c.ca } : {}) };
}

/** require_client_cert: a client that completed the handshake without a certificate is closed, and counted. */
function requireCertificate(socket: TLSSocket, closed: (reason: ListenerClose) => void): boolean {
  const cert = socket.getPeerCertificate();
  if (cert !== null && Object.keys(cert).length > 0) return true;
  closed("tls_client_certificate_missing");
  socket.destroy();
  return false;
}

function countHandshakeFailures(server: TlsServer | HttpsServer, closed: (reason: ListenerClose) => void): void {
  // A failed handshake (no common protocol, a client that distrusts our certificate, garbage) is counted.
  server.on("tlsClientError", (_err: Error, socket: { destroy(): void }) => {
    closed("tls_handshake_failed");
    socket.destroy();
  });
}

/**
 * Hands the connection to the HTTP/2 server when it starts with the preface, else to the HTTP/1.1 server, at the
 * first byte that differs. The bytes read to decide are given back: unshifted for node:http2, which reads what
 * the socket buffered; re-emitted for node:http, whose parser then reads from the socket's handle directly.
 */
function sniff(socket: Socket, h2: (s: Socket) => void, h1: (s: Socket) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const isH2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isH2 && n < PREFACE.length) return;
    socket.off("data", onData);
    socket.off("error", onError);
    if (isH2) {
      socket.pause();
      socket.unshift(seen);
      h2(socket);
    } else {
      h1(socket);
      socket.emit("data", seen);
    }
  };
  const onError = () => socket.destroy();
  socket.on("data", onData);
  socket.on("error", onError);
}

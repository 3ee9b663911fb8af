// What a proxy listener does about clients that are slow, idle, too many, or that ask for a tunnel (issue 18):
// the timeouts and connection cap of host/config/listener-limits.ts applied to a node:http Server, each close
// told through `closed(reason)` so that metrics count it.
import { errorAnswer } from "../proxy/errors.js";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { ListenerLimits } from "../config/listener-limits.js";

/** Why the listener closed a client connection itself. */
export type ListenerClose = "header_timeout" | "request_timeout" | "idle_timeout" | "connection_limit" | "connect_refused" | "tls_handshake_failed" | "tls_client_certificate_missing" | "http2_rapid_reset"
  | "http2_continuation_flood" | "http2_flood" | "http2_protocol_error";

/** The options of node:http createServer for these limits. */
export function serverTimeouts(limits: ListenerLimits): { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number } {
  const shortest = Math.min(limits.headerTimeoutMs, limits.requestTimeoutMs || Infinity);
  return {
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks header and request deadlines on this interval (30 s by default, far coarser than a short
    // header timeout): a tenth of the shortest deadline, at least 50 ms and at most Node's default.
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(shortest / 10))),
  };
}

export const TIMEOUT_408 = "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
const CONNECT_BODY = errorAnswer("E_CONNECT_NOT_PROXIED", "CONNECT is not proxied by Switchyard");
export const CONNECT_405 = `HTTP/1.1 405 Method Not Allowed\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(CONNECT_BODY)}\r\n\r\n${CONNECT_BODY}`;

/** Applies the cap and answers the closes that node:http would otherwise make silently or uncounted. */
export function guardListener(server: Server, limits: ListenerLimits, closed: (reason: ListenerClose) => void): void {
  server.maxConnections = limits.maxConnections;
  server.on("drop", () => closed("connection_limit"));
  // A keep-alive connection idle past keepAliveTimeout: node:http emits "timeout" and, with a listener, leaves
  // the closing to it.
  server.on("timeout", (socket: Duplex) => {
    closed("idle_timeout");
    socket.destroy();
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      // node:http gives one code for both deadlines; which one passed is told by whether the head arrived
      // (node:http attaches the response of a request whose head it has read to the socket).
      closed(responseOf(socket) !== undefined ? "request_timeout" : "header_timeout");
      if (socket.writable) socket.end(TIMEOUT_408);
      else socket.destroy();
      return;
    }
    // Every other client error as node:http answers it without a listener (400, 431 …).
    defaultClientError(err, socket);
  });
  // CONNECT asks for a tunnel, which this proxy does not make: answer 405 rather than drop the connection.
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    closed("connect_refused");
    socket.on("error", () => undefined);
    socket.end(CONNECT_405);
  });
}

function responseOf(socket: Duplex): { headersSent?: boolean } | undefined {
  return (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage ?? undefined;
}

function defaultClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET" || !socket.writable || responseOf(socket)?.headersSent === true) {
    socket.destroy();
    return;
  }
  socket.end(`HTTP/1.1 ${clientErrorStatus(err.code)}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

/** The status line's code and text for a request the parser refused (llhttp's HPE_* code). */
export function clientErrorStatus(code: string | undefined): string {
  return code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
}

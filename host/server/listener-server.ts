// The Node server behind one listener: node:http for cleartext HTTP/1.1, node:https where the filter chain has
// a tls_context (issue 15). Whatever the server, requests reach the same handler (Pipeline.handle) and the same
// guards (host/server/listener-guard.ts); this file only chooses and drives the server.

import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { ListenerConfig } from "../config/types.js";
import { guardListener, serverTimeouts, type ListenerClose } from "./listener-guard.js";
import type { ServerCredentials } from "./tls-credentials.js";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export class ListenerServer {
  private constructor(readonly raw: HttpServer | HttpsServer, readonly tls: boolean) {}

  /** A server for `l`, TLS when `credentials` are given (the listener's tls_context, already loaded). */
  static create(l: ListenerConfig, credentials: ServerCredentials | null, handler: RequestHandler, closed: (reason: ListenerClose) => void): ListenerServer {
    const timeouts = serverTimeouts(l.limits);
    const raw = credentials === null
      ? createHttpServer(timeouts, handler)
      // A client that never finishes its handshake is held no longer than one that never finishes its head.
      : createHttpsServer({ ...timeouts, cert: credentials.cert, key: credentials.key, handshakeTimeout: l.limits.headerTimeoutMs }, handler);
    guardListener(raw, l.limits, closed);
    if (credentials !== null) {
      // A failed handshake (no common protocol, a client that distrusts our certificate, garbage) is counted.
      raw.on("tlsClientError", (_err: Error, socket: { destroy(): void }) => {
        closed("tls_handshake_failed");
        socket.destroy();
      });
    }
    return new ListenerServer(raw, credentials !== null);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
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
    (this.raw as HttpsServer).setSecureContext({ cert: c.cert, key: c.key });
  }

  address(): AddressInfo | null {
    return this.raw.address() as AddressInfo | null;
  }

  closeIdleConnections(): void {
    this.raw.closeIdleConnections();
  }

  closeAllConnections(): void {
    this.raw.closeAllConnections();
  }

  close(done: () => void): void {
    this.raw.close(() => done());
  }
}

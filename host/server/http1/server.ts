// The llhttp codec's side of a listener (issue 19, `http1_codec: "llhttp"` in docs/config.md): takes the
// connections a net or tls server accepted, runs each through host/server/http1/connection.ts, and applies the
// listener's header, request and idle timeouts (host/config/listener-limits.ts) on one interval for all its
// connections, as node:http checks its own (at the interval of host/server/listener-guard.ts serverTimeouts),
// so that a request costs no timer of its own.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { ListenerLimits } from "../../config/listener-limits.js";
import { serverTimeouts, type ListenerClose } from "../listener-guard.js";
import { Http1Connection, type ConnectionContext } from "./connection.js";
import type { Http1Response } from "./response.js";

export interface Http1CodecOptions {
  readonly limits: ListenerLimits;
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly closed: (reason: ListenerClose) => void;
  /** Milliseconds for deadlines; performance.now by default (tests inject a clock). */
  readonly now?: () => number;
}

export class Http1Codec {
  private readonly connections = new Set<Http1Connection>();
  private readonly ctx: ConnectionContext;
  private timer: NodeJS.Timeout | null = null;
  private draining = false;
  private dateSecond = -1;
  private dateText = "";

  constructor(private readonly opts: Http1CodecOptions) {
    const limits = opts.limits;
    const handler = opts.handler;
    this.ctx = {
      // The response has what the request path calls on a ServerResponse (host/server/http1/response.ts).
      handler: (req: IncomingMessage, res: Http1Response) => handler(req, res as unknown as ServerResponse),
      closed: opts.closed,
      headerTimeoutMs: limits.headerTimeoutMs,
      requestTimeoutMs: limits.requestTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
      now: opts.now ?? (() => performance.now()),
      date: () => this.date(),
      gone: (c) => this.connections.delete(c),
      draining: () => this.draining,
    };
  }

  /** Serves `socket` from now on. */
  connection(socket: Socket): void {
    this.connections.add(new Http1Connection(this.ctx, socket));
    if (this.timer === null) {
      // node:http's interval rule, over the idle timeout too (node:http times idle sockets with socket timers).
      const l = this.opts.limits;
      const every = serverTimeouts({ ...l, headerTimeoutMs: Math.min(l.headerTimeoutMs, l.idleTimeoutMs) }).connectionsCheckingInterval;
      this.timer = setInterval(() => this.check(), every);
      this.timer.unref();
    }
  }

  /** Applies every connection's deadlines now (the interval calls this; tests with an injected clock too). */
  check(): void {
    const now = this.ctx.now();
    for (const c of this.connections) c.check(now);
  }

  /** Closes the connections with no request in them; the others close once their answer is sent (the listener is stopping). */
  closeIdleConnections(): void {
    this.draining = true;
    for (const c of this.connections) c.closeIfIdle();
  }

  closeAllConnections(): void {
    for (const c of this.connections) c.socket.destroy();
  }

  /** Stops the deadline checks (the listener closed). */
  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private date(): string {
    const ms = Date.now();
    const second = Math.floor(ms / 1000);
    if (second !== this.dateSecond) {
      this.dateSecond = second;
      this.dateText = new Date(ms).toUTCString();
    }
    return this.dateText;
  }
}

// The llhttp upstream client (issue 19, `switchyard.upstream_client: "llhttp"` in docs/config.md): one pool of
// HTTP/1.1 keep-alive connections to one upstream address, over node:net or node:tls, with exactly the part of
// undici's Pool the forwarder uses (host/proxy/pools.ts, host/proxy/exchange.ts): dispatch(opts, handler) with the
// legacy handler calls, the "connect" and "connectionError" events, close() (graceful: queued and running requests
// finish) and destroy(). At most `connections` connections, one request each at a time (no pipelining); requests
// beyond wait in a FIFO queue, as in undici's Pool. Connections are in host/proxy/h1/connection.ts.

import { EventEmitter } from "node:events";
import { type Dispatcher, errors } from "undici";
import type { UpstreamTlsOptions } from "../transport.js";
import { type ConnectionContext, H1Connection } from "./connection.js";
import { type H1DispatchOptions, H1Request, type LegacyHandler } from "./request.js";

export interface H1PoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly tls: UpstreamTlsOptions | null;
  readonly now?: () => number;
}

// The headers, body and keep-alive deadlines of every connection are checked on one interval for all pools (a
// timer per request would cost more than the rest of its bookkeeping); like undici's, they are coarse.
const TICK_MS = 250;
const ticking = new Set<H1Pool>();
let ticker: NodeJS.Timeout | null = null;

function tick(): void {
  for (const pool of ticking) pool.check();
}

function track(pool: H1Pool): void {
  ticking.add(pool);
  if (ticker === null) {
    ticker = setInterval(tick, TICK_MS);
    ticker.unref();
  }
}

function untrack(pool: H1Pool): void {
  ticking.delete(pool);
  if (ticking.size === 0 && ticker !== null) {
    clearInterval(ticker);
    ticker = null;
  }
}

/** "127.0.0.1:8080" → ["127.0.0.1", 8080]; "[::1]:8080" → ["::1", 8080]. */
function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon);
  return [host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host, Number(address.slice(colon + 1))];
}

export class H1Pool extends EventEmitter {
  private readonly conns = new Set<H1Connection>();
  /** Connected connections with no request, most recently used last. */
  private readonly idle: H1Connection[] = [];
  private readonly queue: H1Request[] = [];
  private queueHead = 0;
  private closing = false;
  private isDestroyed = false;
  private readonly whenEmpty: (() => void)[] = [];
  private readonly ctx: ConnectionContext;
  private readonly max: number;
  private readonly now: () => number;

  constructor(readonly origin: string, address: string, options: H1PoolOptions) {
    super();
    const [hostname, port] = splitAddress(address);
    this.max = options.connections;
    this.now = options.now ?? (() => performance.now());
    this.ctx = {
      hostname,
      port,
      hostHeader: address,
      // Read at each connect: a cluster's TLS files may have changed since (host/server/upstream-tls-reloader.ts).
      get tls() {
        return options.tls;
      },
      connectTimeoutMs: options.connectTimeoutMs,
      headersTimeoutMs: options.headersTimeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      now: this.now,
      connected: (c) => this.emit("connect", this.origin, [c]),
      connectFailed: (c, err) => this.emit("connectionError", this.origin, [c], err),
      released: (c) => this.released(c),
      gone: (c) => this.gone(c),
    };
  }

  get closed(): boolean {
    return this.closing;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** undici's Dispatcher.dispatch with a legacy handler: every outcome reaches the handler, a refusal through onError. */
  dispatch(options: Dispatcher.DispatchOptions, dispatchHandler: Dispatcher.DispatchHandler): boolean {
    const opts = options as H1DispatchOptions;
    const handler = dispatchHandler as LegacyHandler;
    let req: H1Request;
    try {
      if (this.isDestroyed) throw new errors.ClientDestroyedError();
      if (this.closing) throw new errors.ClientClosedError();
      req = new H1Request(opts, handler);
    } catch (err) {
      handler.onError?.(err as Error);
      return false;
    }
    let c = this.idle.pop();
    // One destroyed while idle is in the list until its socket's 'close'.
    while (c !== undefined && !c.usable) c = this.idle.pop();
    if (c !== undefined) c.start(req);
    else if (this.conns.size < this.max) this.open(req);
    else this.queue.push(req);
    return true;
  }

  /** Resolves once every queued and running request has ended; the connections are closed then. */
  close(): Promise<void> {
    this.closing = true;
    if (this.queued() === 0) for (const c of this.idle.splice(0)) c.destroy(new errors.ClientClosedError());
    return this.empty();
  }

  /** Ends every queued and running request with `err` (ClientDestroyedError) and closes every connection. */
  destroy(err?: Error | null): Promise<void> {
    this.closing = true;
    this.isDestroyed = true;
    const e = err ?? new errors.ClientDestroyedError();
    const waiting = this.queue.splice(this.queueHead);
    this.queue.length = 0;
    this.queueHead = 0;
    for (const r of waiting) r.fail(e);
    this.idle.length = 0;
    for (const c of this.conns) c.destroy(e);
    return this.empty();
  }

  /** The ticker's call: each connection checks its deadlines. */
  check(): void {
    const now = this.now();
    for (const c of this.conns) c.check(now);
  }

  private empty(): Promise<void> {
    if (this.conns.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenEmpty.push(resolve));
  }

  private queued(): number {
    return this.queue.length - this.queueHead;
  }

  private next(): H1Request | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const r = this.queue[this.queueHead++]!;
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    return r;
  }

  private open(req: H1Request): void {
    if (this.conns.size === 0) track(this);
    this.conns.add(new H1Connection(this.ctx, req));
  }

  private released(c: H1Connection): void {
    const req = this.next();
    if (req !== undefined) {
      c.start(req);
      return;
    }
    if (this.closing) c.destroy(new errors.ClientClosedError());
    else this.idle.push(c);
  }

  private gone(c: H1Connection): void {
    this.conns.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    // A request that waited for a free connection gets a new one.
    if (!this.isDestroyed && this.conns.size < this.max) {
      const req = this.next();
      if (req !== undefined) this.open(req);
    }
    if (this.conns.size === 0) {
      untrack(this);
      for (const resolve of this.whenEmpty.splice(0)) resolve();
    }
  }
}

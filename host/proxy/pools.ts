// One pool per upstream address: keep-alive connections, bounded in number, no pipelining (a
// pipelined request stuck behind a slow one is worse than a new connection). Measured on this machine: one
// Pool per host costs less per request than one BalancedPool over all hosts, and the balancer is ours.
// The pool is undici's Pool, or with `client: "llhttp"` (switchyard.upstream_client) the client of host/proxy/h1/
// for HTTP/1.1 (cleartext and TLS); HTTP/2 pools stay undici's.

import { type Dispatcher, Pool } from "undici";
import { HostStatus, type Host } from "../cluster/types.js";
import { PoolOptionsError, PoolsClosedError } from "./errors.js";
import { H1Pool } from "./h1/pool.js";
import { setHostStatus } from "./host-tracking.js";
import { connectorFor } from "./connector.js";
import type { UpstreamTransport } from "./transport.js";

/** Which HTTP/1.1 client the pools are: undici's Pool, or host/proxy/h1/ on Node's llhttp. */
export type UpstreamClient = "undici" | "llhttp";

const UPSTREAM_CLIENTS: readonly UpstreamClient[] = ["undici", "llhttp"];

/** What the forwarder uses of a pool: undici's Pool and H1Pool both are one. */
export interface UpstreamPool {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
  on(event: "connect" | "connectionError", listener: () => void): unknown;
}

export interface PoolRegistryOptions {
  /** The HTTP/1.1 client ("llhttp" by default). */
  client?: UpstreamClient;
  /** Connections per host at most; requests beyond wait in the pool's queue. */
  connections?: number;
  /** Used when a pool is created without a connect timeout of its own. */
  connectTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept when the upstream does not say. */
  keepAliveTimeoutMs?: number;
  /** undici's own idle timeouts: a backstop under the route deadline, which the forwarder enforces. */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** How long close() and release() wait for requests in flight before destroying the pool. */
  closeGraceMs?: number;
}

const POOL_DEFAULTS = Object.freeze({
  connections: 128,
  connectTimeoutMs: 3_000,
  keepAliveTimeoutMs: 4_000,
  headersTimeoutMs: 300_000,
  bodyTimeoutMs: 300_000,
  closeGraceMs: 10_000,
});

/** Streams an HTTP/2 pool sends on one connection at once (HTTP/2's usual SETTINGS_MAX_CONCURRENT_STREAMS). */
const H2_STREAMS = 100;

interface Entry {
  readonly address: string;
  readonly pool: UpstreamPool;
  /** Hosts (of any cluster) at this address whose status follows the pool's connection events. */
  readonly hosts: Set<Host>;
}

/**
 * Lazily creates, and closes, the connection pools of upstream hosts.
 *
 * @example
 * const pools = new PoolRegistry({ connections: 64 });
 * const pool = pools.get(host);           // created on first use
 * await pools.release("127.0.10.1:8080");    // host left its cluster: in-flight requests finish first
 * await pools.close();                     // shutdown
 */
export class PoolRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly options: Required<Omit<PoolRegistryOptions, "client">>;
  private readonly client: UpstreamClient;
  private closed = false;

  constructor(options: PoolRegistryOptions = {}) {
    const { client, ...numbers } = options;
    if (client !== undefined && !UPSTREAM_CLIENTS.includes(client)) throw new PoolOptionsError("pools.client", `must be "undici" or "llhttp", got ${JSON.stringify(client)}`);
    this.client = client ?? "llhttp";
    const o = { ...POOL_DEFAULTS, ...stripUndefined(numbers) };
    for (const [key, value] of Object.entries(o)) {
      if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
        throw new PoolOptionsError(`pools.${key}`, `must be a finite number > 0, got ${JSON.stringify(value)}`);
      }
    }
    if (!Number.isInteger(o.connections)) throw new PoolOptionsError("pools.connections", `must be an integer, got ${o.connections}`);
    this.options = o;
  }

  /** Number of live pools. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The pool for `host.address`, created on first use. `connectTimeoutMs` applies only when this call
   * creates the pool: undici fixes a pool's connect timeout at creation, and a config sets it per cluster.
   */
  get(host: Host, connectTimeoutMs?: number | null, transport?: UpstreamTransport | null): UpstreamPool {
    // A cleartext pool is keyed by the address alone (the common case: no string built per request).
    const key = transport == null ? host.address : `${transport.key}\u0000${host.address}`;
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      if (!entry.hosts.has(host)) entry.hosts.add(host);
      return entry.pool;
    }
    return this.create(key, host, connectTimeoutMs ?? this.options.connectTimeoutMs, transport ?? null);
  }

  /** Whether a pool exists for `address`, over any transport (for tests and the admin API). */
  has(address: string): boolean {
    for (const e of this.entries.values()) if (e.address === address) return true;
    return false;
  }

  /**
   * The host at `address` left every cluster: forget its pool and close it once its requests in flight
   * finish (destroyed after closeGraceMs). Resolves when the pool is closed; no-op for an unknown address.
   */
  release(address: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, entry] of this.entries) {
      if (entry.address !== address) continue;
      this.entries.delete(key);
      closing.push(this.closeGracefully(entry.pool));
    }
    return Promise.all(closing).then(() => undefined);
  }

  /** Shutdown: closes every pool gracefully; get() fails afterwards with E_POOLS_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.entries.values()].map((e) => e.pool);
    this.entries.clear();
    await Promise.all(pools.map((p) => this.closeGracefully(p)));
  }

  private create(key: string, host: Host, connectTimeoutMs: number, transport: UpstreamTransport | null): UpstreamPool {
    if (this.closed) throw new PoolsClosedError(host.address);
    const o = this.options;
    const tls = transport?.tls ?? null;
    const pool: UpstreamPool = this.client === "llhttp" && (transport === null || transport.h2 === "none")
      ? new H1Pool(originOf(host.address, tls !== null), host.address, {
          connections: o.connections,
          connectTimeoutMs,
          keepAliveTimeoutMs: o.keepAliveTimeoutMs,
          headersTimeoutMs: o.headersTimeoutMs,
          bodyTimeoutMs: o.bodyTimeoutMs,
          // The options of the moment, for each new connection.
          get tls() {
            return tls?.options ?? null;
          },
        })
      : this.undiciPool(host, connectTimeoutMs, transport);
    const entry: Entry = { address: host.address, pool, hosts: new Set([host]) };
    // Connection events are rare next to requests: status is kept here rather than per request.
    pool.on("connect", () => {
      for (const h of entry.hosts) setHostStatus(h, HostStatus.Available);
    });
    pool.on("connectionError", () => {
      for (const h of entry.hosts) setHostStatus(h, HostStatus.Unavailable);
    });
    this.entries.set(key, entry);
    return pool;
  }

  private undiciPool(host: Host, connectTimeoutMs: number, transport: UpstreamTransport | null): Pool {
    const o = this.options;
    const tls = transport?.tls ?? null;
    return new Pool(originOf(host.address, tls !== null), {
      connections: o.connections,
      // undici takes `pipelining` as the streams one HTTP/2 connection carries at once: h2c, and h2 over TLS where
      // ALPN offers h2 alone, are sure to be HTTP/2, so their requests share one connection per host; under Auto
      // the answer may be HTTP/1.1, where pipelining would queue requests behind each other, so there each
      // connection carries one request at a time.
      pipelining: transport?.h2 === "h2c" || transport?.h2 === "h2" ? H2_STREAMS : 1,
      connectTimeout: connectTimeoutMs,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      headersTimeout: o.headersTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
      // node:tls connect options (CA, client certificate, SNI, verification on unless insecure_skip), the ALPN
      // offered, and h2c by prior knowledge: host/proxy/connector.ts.
      ...(transport !== null ? { connect: connectorFor(tls, transport.h2, connectTimeoutMs) } : {}),
      // HTTP/2: by ALPN over TLS, by prior knowledge (h2c) in cleartext; one connection multiplexes streams.
      ...(transport !== null && transport.h2 !== "none" ? { allowH2: true } : {}),
    });
  }

  private closeGracefully(pool: UpstreamPool): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.closeGraceMs);
      timer.unref();
    });
    const closing = pool.close().then(() => "closed" as const);
    return Promise.race([closing, grace.then(() => "late" as const)]).then(async (how) => {
      clearTimeout(timer);
      // Requests still in flight after the grace period are cut: a removed host must not hold shutdown.
      if (how === "late") await pool.destroy();
    });
  }
}

/** "127.0.10.1:8080" → "http://127.0.10.1:8080" ("https://" over TLS); IPv6 addresses come bracketed ("[::1]:8080"). */
function originOf(address: string, tls = false): string {
  return `${tls ? "https" : "http"}://${address}`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// The `--source` of `switchyard run`, `status` and `push`: where the fleet's shared state lives.
//
//   etcd://127.0.0.1:2379,127.0.0.1:22379/switchyard?ttl=10&user=sy&ca=/etc/ssl/etcd-ca.pem&cert=c.pem&key=k.pem
//
// Several endpoints are separated by commas; the path is the key prefix. `ttl` is the lease of each host's
// status keys in seconds (a dead host disappears after it). `ca` (with optional `cert`/`key` for client
// certificates) switches to TLS. `user` turns on etcd's authentication; the password is read from the
// environment (SWITCHYARD_ETCD_PASSWORD), never from the URL, so that it does not show in `ps`.

import { readFileSync } from "node:fs";
import { Etcd3, type IOptions } from "etcd3";
import { SwitchyardError } from "../plugin/errors.js";

export class SourceError extends SwitchyardError {
  constructor(message: string) {
    super("E_SOURCE", message);
  }
}

export interface SourceSettings {
  readonly endpoints: readonly string[];
  /** Key prefix, "/" first and no trailing "/" ("/switchyard"). */
  readonly prefix: string;
  readonly ttlSeconds: number;
  readonly user?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

const KNOWN = new Set(["ttl", "user", "ca", "cert", "key"]);

export function parseSource(text: string): SourceSettings {
  // A user:password@ in the URL is refused, and never repeated in the message (it would be logged).
  if (/^[a-z0-9+.-]*:\/\/[^/?]*@/i.test(text)) throw new SourceError("--source: no user or password in the URL's host part: give ?user=<name> and the password in SWITCHYARD_ETCD_PASSWORD");
  const m = /^etcd:\/\/([^/?]+)(\/[^?]*)?(?:\?(.*))?$/.exec(text);
  if (m === null) throw new SourceError(`--source: expected etcd://host:port[,host:port...]/prefix, got ${JSON.stringify(text)}`);
  const endpoints = m[1]!.split(",");
  for (const e of endpoints) {
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(e)) throw new SourceError(`--source: endpoint ${JSON.stringify(e)} is not host:port`);
  }
  const prefix = (m[2] ?? "/switchyard").replace(/\/+$/, "");
  if (prefix === "") throw new SourceError("--source: the key prefix must not be empty (etcd://host:port/switchyard)");
  const q = new URLSearchParams(m[3] ?? "");
  for (const k of q.keys()) if (!KNOWN.has(k)) throw new SourceError(`--source: unknown option ${JSON.stringify(k)} (known: ${[...KNOWN].join(", ")})`);
  const ttl = q.get("ttl") ?? "10";
  if (!/^[1-9]\d{0,4}$/.test(ttl)) throw new SourceError(`--source: ttl must be whole seconds 1-99999, got ${JSON.stringify(ttl)}`);
  const opt = (k: string) => (q.get(k) !== null ? { [k]: q.get(k)! } : {});
  if ((q.has("cert") || q.has("key")) && !q.has("ca")) throw new SourceError("--source: cert/key need ca (TLS)");
  return { endpoints, prefix, ttlSeconds: Number(ttl), ...opt("user"), ...opt("ca"), ...opt("cert"), ...opt("key") };
}

/** Every retry against etcd waits 100 ms, doubling to 5 s (docs/fleet.md): the source's and etcd3's watch. */
export const MIN_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 5000;

type FaultHandling = NonNullable<IOptions["faultHandling"]>;
type WatchBackoff = NonNullable<FaultHandling["watchBackoff"]>;

const doubling = (ms: number): WatchBackoff => ({ duration: ms, next: () => doubling(Math.min(ms * 2, MAX_BACKOFF_MS)) });

/**
 * How etcd3 retries, replacing two of its defaults that together left a host's watch down for up to 30 s after
 * a dropped connection while etcd was already back (seen in test/fleet-compaction.test.ts under load):
 * - its per-endpoint circuit breaker opens for 5 s after 3 failures in a row, such as the watch and lease
 *   streams all failing at once when the connection drops; while open it refuses every call, the watch's
 *   reconnects included, without trying etcd. Calls here go straight through; several endpoints still fail
 *   over, through etcd3's retry of a failed call on the next endpoint (3 attempts, its default).
 * - its watch reconnect backoff doubles up to 30 s on every refused attempt and is reset only by a response;
 *   here it is the source's own, 100 ms doubling to 5 s.
 */
const faultHandling: FaultHandling = {
  host: () => ({ execute: async (fn: (c: { signal: AbortSignal }) => unknown) => fn({ signal: new AbortController().signal }) }) as unknown as ReturnType<NonNullable<FaultHandling["host"]>>,
  watchBackoff: { duration: 0, next: () => doubling(MIN_BACKOFF_MS) },
};

/** An etcd3 client for the settings. etcd3 keeps its own pool and retries; callers close it. */
export function etcdClient(s: SourceSettings, env: NodeJS.ProcessEnv = process.env): Etcd3 {
  const scheme = s.ca !== undefined ? "https" : "http";
  const options: IOptions = {
    hosts: s.endpoints.map((e) => `${scheme}://${e}`),
    dialTimeout: 2000,
    faultHandling,
    ...(s.ca !== undefined
      ? {
          credentials: {
            rootCertificate: readFileSync(s.ca),
            ...(s.cert !== undefined ? { certChain: readFileSync(s.cert) } : {}),
            ...(s.key !== undefined ? { privateKey: readFileSync(s.key) } : {}),
          },
        }
      : {}),
    ...(s.user !== undefined ? { auth: { username: s.user, password: env.SWITCHYARD_ETCD_PASSWORD ?? "" } } : {}),
  };
  return new Etcd3(options);
}

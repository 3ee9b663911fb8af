// The `--source` of `switchyard run`, `status` and `push`: where the fleet's shared state lives.
//
//   etcd://127.0.0.1:2379,127.0.0.1:22379/switchyard?ttl=10&user=sy&ca=/etc/ssl/etcd-ca.pem&cert=c.pem&key=k.pem
//
// Several endpoints are separated by commas; the path is the key prefix. `ttl` is the lease of each host's
// status keys in seconds (a dead host disappears after it). `ca` (with optional `cert`/`key` for client
// certificates) switches to TLS. `user` turns on etcd's authentication; the password is read from the
// environment (SWITCHYARD_ETCD_PASSWORD), never from the URL, so that it does not show in `ps`.

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

// The etcd3 client of a `--source` (host/fleet/source-url.ts parses it). Its own file so that a host started
// without --source never loads etcd3 and the gRPC client under it (~12 MiB of RSS: test/startup-imports.test.ts).

import { readFileSync } from "node:fs";
import { Etcd3, type IOptions } from "etcd3";
import { MAX_BACKOFF_MS, MIN_BACKOFF_MS, type SourceSettings } from "./source-url.js";

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

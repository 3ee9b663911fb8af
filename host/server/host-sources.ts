// Which host list a cluster serves: the config file's, or the one pushed (PUT /clusters/<name>/hosts) and kept
// in the state folder. The rule (docs/operations.md, "Which source wins"): a push lasts while the config
// file's own list for that cluster is the one the push replaced; once the file's list changes, the file wins
// and the push is forgotten. So a host list just written into the file is what the next start or reload
// serves, and a restart with an unchanged file keeps what was pushed. A state file written before the
// replaced list was recorded (no `configHosts`) keeps its push.

import { createHash } from "node:crypto";
import type { HostSpec } from "../cluster/types.js";
import type { ClusterConfig } from "../config/types.js";
import type { LoadedHosts } from "../state/store.js";

/** A digest of a host list that does not depend on key order in tags (the file's list, as parsed). */
export function hostListDigest(hosts: readonly HostSpec[]): string {
  const canonical = hosts.map((h) => [h.address, h.hostname ?? null, h.weight, Object.keys(h.tags).sort().map((k) => [k, h.tags[k]]), h.healthy ?? true]);
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 32);
}

export type HostListSource = "config" | "state";

export interface HostListChoice {
  readonly cluster: string;
  readonly hosts: readonly HostSpec[];
  readonly source: HostListSource;
  /** The pushed version the cluster continues from (0 when nothing was ever pushed). */
  readonly version: number;
  /** The digest of the file's list a kept push replaced; undefined when the file's list serves. */
  readonly configHosts?: string;
  /** A push that the file's changed list overrides: its state file is to be removed. */
  readonly superseded: boolean;
  /** One sentence for the log: why this source. */
  readonly why: string;
}

/** A push as the host holds it: its hosts, its version, and the file's list it replaced (if recorded). */
export type Pushed = LoadedHosts;

export function chooseHostList(c: ClusterConfig, pushed: Pushed | undefined): HostListChoice {
  // A DNS cluster's configured hosts are names to resolve, not hosts: until they resolve it has none. What DNS
  // resolved is applied as a push is (host/cluster/dns-discovery.ts), so it is kept under the same rule.
  const fileHosts = c.discovery === "static" ? c.hosts : [];
  if (pushed === undefined) return { cluster: c.name, hosts: fileHosts, source: "config", version: 0, superseded: false, why: c.discovery === "static" ? "no host list was pushed" : "nothing resolved yet" };
  const digest = hostListDigest(c.hosts);
  if (pushed.configHosts === undefined) {
    return { cluster: c.name, hosts: pushed.hosts, source: "state", version: pushed.version, superseded: false, why: `pushed at version ${pushed.version}, before the file's list was recorded with pushes: kept` };
  }
  if (pushed.configHosts === digest) {
    return { cluster: c.name, hosts: pushed.hosts, source: "state", version: pushed.version, configHosts: digest, superseded: false, why: `pushed at version ${pushed.version}; the file's list is unchanged since` };
  }
  return { cluster: c.name, hosts: fileHosts, source: "config", version: pushed.version, superseded: true, why: `the file's list changed since the push at version ${pushed.version}: the file wins` };
}

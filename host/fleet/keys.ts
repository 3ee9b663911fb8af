// The etcd keys of a fleet, under the source's prefix (docs/fleet.md lists them):
//
//   <prefix>/plugins/<name>                   the plugin's config, as a push body (written by `switchyard push --source`)
//   <prefix>/members/<host-id>                a live host (lease-bound): {"host", "pid", "startedAt"}
//   <prefix>/status/<host-id>/<name>          what that host did with <prefix>/plugins/<name> (lease-bound)
//   <prefix>/clusters/<cluster>/hosts         a cluster's host list, as a PUT /clusters/<cluster>/hosts body
//                                             (written by `switchyard hosts --source`)
//   <prefix>/hosts-status/<host-id>/<cluster> what that host did with <prefix>/clusters/<cluster>/hosts (lease-bound)

import { hostname } from "node:os";

/** A host's id in the fleet when --host-id does not name one: its hostname and process id. */
export const defaultHostId = (): string => `${hostname()}-${process.pid}`;

export const pluginsPrefix = (prefix: string) => `${prefix}/plugins/`;
export const pluginKey = (prefix: string, name: string) => `${prefix}/plugins/${name}`;
export const membersPrefix = (prefix: string) => `${prefix}/members/`;
export const memberKey = (prefix: string, host: string) => `${prefix}/members/${host}`;
export const statusPrefix = (prefix: string) => `${prefix}/status/`;
export const statusKey = (prefix: string, host: string, plugin: string) => `${prefix}/status/${host}/${plugin}`;
export const clustersPrefix = (prefix: string) => `${prefix}/clusters/`;
export const hostsKey = (prefix: string, cluster: string) => `${prefix}/clusters/${cluster}/hosts`;
export const hostsStatusPrefix = (prefix: string) => `${prefix}/hosts-status/`;
export const hostsStatusKey = (prefix: string, host: string, cluster: string) => `${prefix}/hosts-status/${host}/${cluster}`;

/** The cluster a key under clustersPrefix names, or null for a key of another shape. */
export function clusterOfKey(prefix: string, key: string): string | null {
  const rest = key.slice(clustersPrefix(prefix).length);
  const m = /^([^/]+)\/hosts$/.exec(rest);
  return m === null ? null : m[1]!;
}

/** What a host reports for one plugin key: the etcd revision it handled, and how. */
export interface PluginStatus {
  readonly host: string;
  readonly plugin: string;
  /** The mod revision of <prefix>/plugins/<name> that this status is about. */
  readonly revision: number;
  readonly state: "applied" | "rejected" | "not-loaded";
  /** The host's local config version once applied (as GET /plugins shows it). */
  readonly configVersion?: number;
  /** The plugin's (or the host's) reason, when rejected. */
  readonly message?: string;
}

export interface Member {
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
}

/** What a host reports for one cluster's host-list key. */
export interface HostsStatus {
  readonly host: string;
  readonly cluster: string;
  /** The mod revision of <prefix>/clusters/<cluster>/hosts that this status is about. */
  readonly revision: number;
  /** `unknown-cluster`: the host's config has no cluster of that name. */
  readonly state: "applied" | "rejected" | "unknown-cluster";
  /** The host's local host-list version once applied (as GET /clusters shows it), and how many hosts. */
  readonly hostsVersion?: number;
  readonly hosts?: number;
  /** Why the list was refused (the admin API's message for the same body). */
  readonly message?: string;
}

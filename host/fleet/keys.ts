// The etcd keys of a fleet, under the source's prefix (docs/fleet.md lists them):
//
//   <prefix>/plugins/<name>                   the plugin's config, as a push body (written by `switchyard push --source`)
//   <prefix>/members/<host-id>                a live host (lease-bound): {"host", "pid", "startedAt"}
//   <prefix>/status/<host-id>/<name>          what that host did with <prefix>/plugins/<name> (lease-bound)

export const pluginsPrefix = (prefix: string) => `${prefix}/plugins/`;
export const pluginKey = (prefix: string, name: string) => `${prefix}/plugins/${name}`;
export const membersPrefix = (prefix: string) => `${prefix}/members/`;
export const memberKey = (prefix: string, host: string) => `${prefix}/members/${host}`;
export const statusPrefix = (prefix: string) => `${prefix}/status/`;
export const statusKey = (prefix: string, host: string, plugin: string) => `${prefix}/status/${host}/${plugin}`;

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

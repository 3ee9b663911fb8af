// What the fleet reports in etcd (host/fleet/keys.ts), read by `switchyard status`, `push --wait` and `hosts
// --wait`, and the write of a plugin config or a host list with compare-and-swap on its mod revision (the etcd
// form of If-Match).

import type { Etcd3 } from "etcd3";
import { hostsStatusPrefix, membersPrefix, statusPrefix, type HostsStatus, type Member, type PluginStatus } from "./keys.js";
import { SourceError } from "./source-url.js";

export interface FleetView {
  /** The etcd revision the view was read at. */
  readonly revision: number;
  readonly members: readonly Member[];
  readonly statuses: readonly PluginStatus[];
  /** What each live host did with each cluster's host-list key. */
  readonly hostLists: readonly HostsStatus[];
}

export async function readFleet(client: Etcd3, prefix: string): Promise<FleetView> {
  const [members, statuses, hostLists] = await Promise.all([
    client.getAll().prefix(membersPrefix(prefix)).exec(),
    client.getAll().prefix(statusPrefix(prefix)).exec(),
    client.getAll().prefix(hostsStatusPrefix(prefix)).exec(),
  ]);
  const parse = <T>(v: Buffer): T | null => {
    try {
      return JSON.parse(v.toString()) as T;
    } catch {
      return null;
    }
  };
  return {
    revision: Number(members.header.revision),
    members: members.kvs.map((kv) => parse<Member>(kv.value)).filter((m): m is Member => m !== null).sort((a, b) => a.host.localeCompare(b.host)),
    statuses: statuses.kvs.map((kv) => parse<PluginStatus>(kv.value)).filter((s): s is PluginStatus => s !== null).sort((a, b) => a.host.localeCompare(b.host) || a.plugin.localeCompare(b.plugin)),
    hostLists: hostLists.kvs.map((kv) => parse<HostsStatus>(kv.value)).filter((s): s is HostsStatus => s !== null).sort((a, b) => a.host.localeCompare(b.host) || a.cluster.localeCompare(b.cluster)),
  };
}

class RevisionMismatch extends SourceError {
  constructor(readonly key: string, readonly actual: number, readonly expected: number) {
    super(`${key} is at mod revision ${actual}, --if-match says ${expected}`);
  }
}

/**
 * Writes `text` at `key` (<prefix>/plugins/<name>, <prefix>/clusters/<name>/hosts). With `ifMatch`, only if the
 * key's mod revision is that number (0: only if the key does not exist yet); throws RevisionMismatch otherwise.
 * Resolves the revision written.
 */
export async function writeKey(client: Etcd3, key: string, text: string, ifMatch?: number): Promise<number> {
  if (ifMatch === undefined) return Number((await client.put(key).value(text).exec()).header.revision);
  const r = await client.if(key, "Mod", "==", ifMatch).then(client.put(key).value(text)).else(client.get(key)).commit();
  if (!r.succeeded) {
    const kv = r.responses[0]?.response_range?.kvs[0];
    throw new RevisionMismatch(key, kv === undefined ? 0 : Number(kv.mod_revision), ifMatch);
  }
  return Number(r.header.revision);
}

/** What one host reported about one key: the status of a plugin or of a cluster's host list. */
export interface KeyReport {
  readonly host: string;
  readonly revision: number;
  readonly state: string;
  readonly message?: string;
}

/** The reports of every host about one plugin's config (kind "plugin") or one cluster's host list. */
export function reportsFor(view: FleetView, kind: "plugin" | "cluster", name: string): KeyReport[] {
  return kind === "plugin" ? view.statuses.filter((s) => s.plugin === name) : view.hostLists.filter((s) => s.cluster === name);
}

/** Who has not yet reported `revision` (or a later one, or a rejection of it), among live hosts. */
export function pendingHosts(view: FleetView, reports: readonly KeyReport[], revision: number): string[] {
  return view.members.filter((m) => !reports.some((s) => s.host === m.host && s.revision >= revision)).map((m) => m.host);
}

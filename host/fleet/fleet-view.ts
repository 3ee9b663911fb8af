// What the fleet reports in etcd (host/fleet/keys.ts), read by `switchyard status` and `push --wait`, and the
// write of a plugin config with compare-and-swap on its mod revision (the etcd form of If-Match).

import type { Etcd3 } from "etcd3";
import { membersPrefix, pluginKey, statusPrefix, type Member, type PluginStatus } from "./keys.js";
import { SourceError } from "./source-url.js";

export interface FleetView {
  /** The etcd revision the view was read at. */
  readonly revision: number;
  readonly members: readonly Member[];
  readonly statuses: readonly PluginStatus[];
}

export async function readFleet(client: Etcd3, prefix: string): Promise<FleetView> {
  const [members, statuses] = await Promise.all([
    client.getAll().prefix(membersPrefix(prefix)).exec(),
    client.getAll().prefix(statusPrefix(prefix)).exec(),
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
  };
}

export class RevisionMismatch extends SourceError {
  constructor(readonly key: string, readonly actual: number, readonly expected: number) {
    super(`${key} is at mod revision ${actual}, --if-match says ${expected}`);
  }
}

/**
 * Writes `text` at <prefix>/plugins/<name>. With `ifMatch`, only if the key's mod revision is that number (0:
 * only if the key does not exist yet); throws RevisionMismatch otherwise. Resolves the revision written.
 */
export async function writePluginConfig(client: Etcd3, prefix: string, name: string, text: string, ifMatch?: number): Promise<number> {
  const key = pluginKey(prefix, name);
  if (ifMatch === undefined) return Number((await client.put(key).value(text).exec()).header.revision);
  const r = await client.if(key, "Mod", "==", ifMatch).then(client.put(key).value(text)).else(client.get(key)).commit();
  if (!r.succeeded) {
    const kv = r.responses[0]?.response_range?.kvs[0];
    throw new RevisionMismatch(key, kv === undefined ? 0 : Number(kv.mod_revision), ifMatch);
  }
  return Number(r.header.revision);
}

/** Who has not yet reported `revision` (or a later one, or a rejection of it) for `plugin`, among live hosts. */
export function pendingHosts(view: FleetView, plugin: string, revision: number): string[] {
  return view.members
    .filter((m) => !view.statuses.some((s) => s.host === m.host && s.plugin === plugin && s.revision >= revision))
    .map((m) => m.host);
}

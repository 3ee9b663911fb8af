// What a chain knows of one plugin instance beyond the instance itself (per chain, kept across requests).

import type { ClusterSnapshot } from "../cluster/types.js";
import { MetadataCache, groupOf } from "../abi/answer.js";
import type { PluginInstance } from "./instance.js";

/**
 * What the chain knows of one plugin instance beyond the instance itself: the groups it named per table
 * (§5.3), fetched once per (instance, table snapshot) and then handed on as the same Uint32Array on every
 * request, and its last metadata, decoded again only when the bytes change.
 */
export class InstanceState {
  readonly meta = new MetadataCache();
  private readonly groups = new Map<number, { snapshot: ClusterSnapshot; sets: (Uint32Array | undefined)[] }>();

  /** The table of the last call: a chain routes one cluster most of the time. */
  private lastTable = -1;
  private last: { snapshot: ClusterSnapshot; sets: (Uint32Array | undefined)[] } | undefined;

  group(inst: PluginInstance, tableId: number, snapshot: ClusterSnapshot, kept: number): Uint32Array {
    let t = tableId === this.lastTable ? this.last : this.groups.get(tableId);
    if (t === undefined || t.snapshot !== snapshot) this.groups.set(tableId, (t = { snapshot, sets: [] }));
    this.lastTable = tableId;
    this.last = t;
    const g = groupOf(kept);
    return (t.sets[g] ??= inst.group(tableId, snapshot.hosts.length, g));
  }
}


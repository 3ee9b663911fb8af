// Table ids and encoded host tables, shared by every chain of one host process.

import type { ClusterSnapshot } from "../cluster/types.js";
import { encodeHostTable } from "../abi/codec.js";
import { MAX_TABLES } from "../abi/limits.js";

/**
 * State shared by every chain of one host process: table ids per cluster (stable across chains, so a plugin
 * instance keeps its tables when a chain is rebuilt) and the encoded host table of each snapshot.
 */
export class TableRegistry {
  private readonly ids = new Map<string, number>();
  private readonly encoded = new WeakMap<ClusterSnapshot, Uint8Array>();

  idOf(cluster: string): number {
    let id = this.ids.get(cluster);
    if (id === undefined) {
      id = this.ids.size;
      if (id >= MAX_TABLES) throw new RangeError(`more than MAX_TABLES ${MAX_TABLES} clusters run plugins`);
      this.ids.set(cluster, id);
    }
    return id;
  }

  encode(snapshot: ClusterSnapshot): Uint8Array {
    let bytes = this.encoded.get(snapshot);
    if (bytes === undefined) {
      bytes = encodeHostTable(snapshot.hosts);
      this.encoded.set(snapshot, bytes);
    }
    return bytes;
  }
}

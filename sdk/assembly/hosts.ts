// The hosts offered to a plugin for one request: a table plus a subset of it (ABI v1 §4.3). Lookups go
// through the table's tag index, so their cost is the number of matching hosts, not the table size. One
// Hosts object serves every request (reset per call), so routing allocates nothing for it.

import { Marks, offeredMarks } from "./marks";
import { offerVersion } from "./offer";
import { Host, HostTable, TagList } from "./table";

export { Host } from "./table";

/** The offer version offeredMarks holds (offer.ts); -1 when none. Marks survive while the offer repeats. */
let markedVersion: i32 = -1;

export class Hosts {
  private _healthyCount: i32 = -1;
  private healthyVersion: i32 = -1;

  constructor(
    private table: HostTable,
    /** Address of the offered indices (u32 each), or 0 when the whole table is offered. */
    private subset: usize,
    /** Number of offered hosts. */
    public length: i32,
  ) {}

  /** Reuse this object for the next request (the SDK's own call; authors never need it). */
  reset(table: HostTable, subset: usize, length: i32): void {
    if (this.table !== table) this.table = table;
    this.subset = subset;
    this.length = length;
  }

  /** Whether every host of the table is offered (the host passed subset -1). */
  get all(): bool {
    return this.subset == 0;
  }

  /** Number of hosts in the table, offered or not. */
  get tableSize(): i32 {
    return this.table.count;
  }

  /** The i-th offered host, 0 <= i < length, in table order. */
  at(i: i32): Host {
    return this.table.host(this.indexAt(i));
  }

  /** Table index of the i-th offered host. */
  indexAt(i: i32): i32 {
    if (i < 0 || i >= this.length) abort("Hosts.at: position " + i.toString() + " out of range 0.." + this.length.toString());
    return this.subset == 0 ? i : <i32>load<u32>(this.subset + (<usize>i << 2));
  }

  /** Whether table index `index` is offered to this plugin. O(1). */
  offers(index: i32): bool {
    if (index < 0 || index >= this.table.count) return false;
    return this.subset == 0 || this.marks().has(index);
  }

  /** The offered host at table index `index`, or null when it is not offered. */
  byIndex(index: i32): Host | null {
    return this.offers(index) ? this.table.host(index) : null;
  }

  /**
   * Offered hosts tagged key=value, in table order. O(hosts of the table with that tag), and it builds an
   * array: to keep or drop them, Result.keepTagged / dropTagged cost O(1) instead.
   */
  withTag(key: string, value: string): Host[] {
    const out = new Array<Host>();
    const list = this.table.tagged(key, value);
    if (list === null) return out;
    for (let i = 0; i < list.length; i++) {
      const index = unchecked(list[i]);
      if (this.subset == 0 || this.marks().has(index)) out.push(this.table.host(index));
    }
    return out;
  }

  /**
   * Number of offered hosts tagged key=value; with `healthyOnly`, of those that are healthy. O(1) when the
   * whole table is offered, O(hosts with that tag) otherwise; allocates nothing.
   */
  countWithTag(key: string, value: string, healthyOnly: bool = false): i32 {
    const list = this.table.tagList(key, value);
    if (list === null) return 0;
    if (this.subset == 0) return healthyOnly ? list.healthy : list.indices.length;
    // Both counts at once, kept on the list for this offer version: a repeated offer asks in O(1).
    if (list.countVersion != offerVersion) {
      const marks = this.marks();
      const indices = list.indices;
      let n = 0;
      let healthy = 0;
      for (let i = 0; i < indices.length; i++) {
        const index = unchecked(indices[i]);
        if (!marks.has(index)) continue;
        n++;
        if (this.table.isHealthy(index)) healthy++;
      }
      list.offeredCount = n;
      list.offeredHealthy = healthy;
      list.countVersion = offerVersion;
    }
    return healthyOnly ? list.offeredHealthy : list.offeredCount;
  }

  /**
   * Offered hosts that do NOT carry tag key=value, in table order. O(offered hosts): to drop a tagged
   * group, Result.dropTagged costs O(1) instead.
   */
  withoutTag(key: string, value: string): Host[] {
    const out = new Array<Host>();
    for (let i = 0; i < this.length; i++) {
      const h = this.at(i);
      if (!h.hasTag(key, value)) out.push(h);
    }
    return out;
  }

  /** Number of healthy offered hosts; O(1) for the whole table, O(offered) once per request otherwise. */
  get healthyCount(): i32 {
    if (this.subset == 0) return this.table.healthyCount;
    if (this.healthyVersion != offerVersion) {
      let n = 0;
      for (let i = 0; i < this.length; i++) if (this.table.isHealthy(this.indexAt(i))) n++;
      this._healthyCount = n;
      this.healthyVersion = offerVersion;
    }
    return this._healthyCount;
  }

  /** The distinct values of tag `key` in the table (offered or not), in no particular order. */
  tagValues(key: string): string[] {
    if (!this.table.byTag.has(key)) return new Array<string>();
    return this.table.byTag.get(key).keys();
  }

  /** The table these hosts come from (SDK internal). */
  hostTable(): HostTable {
    return this.table;
  }

  /** The tag list key=value of the table, or null (SDK internal). */
  tagList(key: string, value: string): TagList | null {
    return this.table.tagList(key, value);
  }

  /**
   * The offer as marks, built on first need: O(offered) once per distinct offer, only for requests that
   * ask; a repeated offer (offer.ts) finds them still built.
   */
  marks(): Marks {
    if (markedVersion != offerVersion) {
      offeredMarks.clear(this.table.count);
      for (let i = 0; i < this.length; i++) offeredMarks.add(<i32>load<u32>(this.subset + (<usize>i << 2)));
      markedVersion = offerVersion;
    }
    return offeredMarks;
  }
}

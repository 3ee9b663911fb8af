// A host table (ABI v1 §4.1) as the plugin keeps it between requests: a private copy of the bytes the host
// wrote, the offset of every host record, and an index of hosts by tag built once per table, so that a
// request never scans every host. Host objects are made on first use and cached.

import { MAX_GROUPS, MAX_HOSTS, MAX_TAGS_PER_HOST, MAX_WEIGHT } from "./limits";
import { Interner } from "./intern";
import { decodeUtf8, utf8Equals } from "./utf8";

/** tagList answers a table remembers: more than the tag lookups of a chain's plugin per request. */
const LOOKUPS: i32 = 8;

/**
 * Tag keys and values repeat from host to host (a handful of keys, a few zones and versions): decoded once and
 * handed out again, a 65,536-host table makes no garbage per host (nothing is collected during a load).
 */
const tagKeys = new Interner(8);
const tagValues = new Interner(32);

/** Why the last decodeTable returned null. */
export let tableError: string = "";

/** One upstream host of a table. Its fields never change: a new snapshot arrives as a new table. */
export class Host {
  private _address: string | null = null;

  constructor(
    private table: HostTable,
    /** Position in the host table: the index the answer carries. */
    readonly index: i32,
    readonly weight: u32,
    readonly healthy: bool,
    private addressAt: u32,
    private addressLen: u32,
    /** Offset of the first tag key's length in the table bytes. */
    private tagsAt: u32,
    /** Number of tags, in configuration order. */
    readonly tagCount: i32,
  ) {}

  /** "ip:port" or "name:port". */
  get address(): string {
    let s = this._address;
    if (changetype<usize>(s) == 0) this._address = s = decodeUtf8(this.table.base() + this.addressAt, this.addressLen);
    return s;
  }

  /**
   * Offset (from the table's base) of the value `str` of tag `key`, or -1 when the host has no such tag.
   * Scans this host's tags only; tag() and hasTag() share it.
   */
  private valueOf(key: string): i32 {
    const base = this.table.base();
    let pos = this.tagsAt;
    for (let i = 0; i < this.tagCount; i++) {
      const keyLen = load<u32>(base + pos);
      const keyAt = pos + 4;
      const valueAt = keyAt + keyLen;
      if (utf8Equals(base + keyAt, keyLen, key)) return <i32>valueAt;
      pos = valueAt + 4 + load<u32>(base + valueAt);
    }
    return -1;
  }

  /** The value of tag `key`, or null when the host has no such tag. */
  tag(key: string): string | null {
    const at = this.valueOf(key);
    if (at < 0) return null;
    const base = this.table.base();
    return decodeUtf8(base + at + 4, load<u32>(base + at));
  }

  /** Whether the host carries tag `key` with `value`; allocates nothing for ASCII arguments. */
  hasTag(key: string, value: string): bool {
    const at = this.valueOf(key);
    if (at < 0) return false;
    const base = this.table.base();
    return utf8Equals(base + at + 4, load<u32>(base + at), value);
  }

  tagKeyAt(i: i32): string {
    return this.tagPart(i, false);
  }

  tagValueAt(i: i32): string {
    return this.tagPart(i, true);
  }

  private tagPart(i: i32, value: bool): string {
    if (i < 0 || i >= this.tagCount) {
      abort("Host.tagKeyAt/tagValueAt: tag index " + i.toString() + " out of range 0.." + this.tagCount.toString());
    }
    const base = this.table.base();
    let pos = this.tagsAt;
    for (let k = 0; k < i; k++) {
      pos += 4 + load<u32>(base + pos);
      pos += 4 + load<u32>(base + pos);
    }
    if (value) pos += 4 + load<u32>(base + pos);
    return decodeUtf8(base + pos + 4, load<u32>(base + pos));
  }
}

/**
 * The hosts of one table tagged key=value (or, for a complement, not tagged so): ascending table indices,
 * built once per table. It is also what a group answer (ABI §5.3) names, so that a request that keeps a
 * whole tag costs O(1) on both sides.
 */
export class TagList {
  private own: Array<i32> | null = null;
  /** For a complement: the list it is the complement of, and the table's host count. */
  private source: TagList | null = null;
  private tableCount: i32 = 0;
  /**
   * Ascending table indices. A complement lists its indices only when first read: it is named in a
   * sy_route, whose budget does not grow with the table (ABI §7), and read in the sy_group that follows,
   * whose budget does.
   */
  get indices(): Array<i32> {
    let list = this.own;
    if (list === null) {
      list = new Array<i32>();
      const source = this.source;
      if (source !== null) {
        const inList = source.indices;
        let j = 0;
        for (let i = 0; i < this.tableCount; i++) {
          if (j < inList.length && unchecked(inList[j]) == i) j++;
          else list.push(i);
        }
      }
      this.own = list;
    }
    return list;
  }
  /** How many of them are healthy; set when the table is complete. */
  healthy: i32 = 0;
  /** Group id in its table (0 .. MAX_GROUPS-1), or -1 while it has none. */
  group: i32 = -1;
  /** The hosts of the table not in this list, made on first use. */
  complement: TagList | null = null;
  /** Offered hosts of the list, and healthy ones among them, for offer version countVersion (offer.ts). */
  offeredCount: i32 = 0;
  offeredHealthy: i32 = 0;
  countVersion: i32 = -1;

  static complementOf(list: TagList, tableCount: i32, tableHealthy: i32): TagList {
    const c = new TagList();
    c.source = list;
    c.tableCount = tableCount;
    c.healthy = tableHealthy - list.healthy;
    c.complement = list;
    return c;
  }

  /** Whether table index `index` is in the list. O(log n). */
  has(index: i32): bool {
    const source = this.source;
    if (source !== null && this.own === null) return !source.has(index);
    const list = this.indices;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = unchecked(list[mid]);
      if (v == index) return true;
      if (v < index) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}

export class HostTable {
  /** Hosts with tag key → value → their list. */
  readonly byTag: Map<string, Map<string, TagList>> = new Map();
  /** Lists that have a group id, by id (ABI §5.3); at most MAX_GROUPS. */
  readonly groups: Array<TagList> = new Array<TagList>();
  private cache: StaticArray<Host | null>;
  // tagList's answers by string identity, replaced round robin.
  private lookupKeys: StaticArray<string | null> = new StaticArray<string | null>(LOOKUPS);
  private lookupValues: StaticArray<string | null> = new StaticArray<string | null>(LOOKUPS);
  private lookupLists: StaticArray<TagList | null> = new StaticArray<TagList | null>(LOOKUPS);
  private nextLookup: i32 = 0;
  /** Bit 0 of every host's flags, by index: health without building Host objects. */
  readonly healthy: StaticArray<u8>;
  healthyCount: i32 = 0;

  constructor(
    private bytes: ArrayBuffer,
    readonly count: i32,
    /** Offset of every host record in `bytes`. */
    private records: StaticArray<u32>,
  ) {
    this.cache = new StaticArray<Host | null>(count);
    this.healthy = new StaticArray<u8>(count);
  }

  base(): usize {
    return changetype<usize>(this.bytes);
  }

  /** The host at table index `index` (0 <= index < count). */
  host(index: i32): Host {
    let h = this.cache[index];
    if (h === null) {
      const base = this.base();
      let pos = unchecked(this.records[index]);
      const addressLen = load<u32>(base + pos);
      const addressAt = pos + 4;
      pos = addressAt + addressLen;
      const weight = load<u32>(base + pos);
      const flags = load<u32>(base + pos + 4);
      const tagCount = load<u32>(base + pos + 8);
      h = new Host(this, index, weight, (flags & 1) != 0, addressAt, addressLen, pos + 12, <i32>tagCount);
      this.cache[index] = h;
    }
    return h;
  }

  /** Whether the host at `index` is healthy (0 <= index < count). */
  isHealthy(index: i32): bool {
    return unchecked(this.healthy[index]) != 0;
  }

  /** Ascending table indices of the hosts tagged key=value (the whole table), or null when none. */
  tagged(key: string, value: string): Array<i32> | null {
    const list = this.tagList(key, value);
    return list === null ? null : list.indices;
  }

  /**
   * The list of hosts tagged key=value, or null when none. No allocation. A handler asks with the same
   * strings on every request (its config's, or a header value Request interns), so the last LOOKUPS answers
   * are kept by the identity of their strings: a hit costs two pointer compares per entry, where the maps
   * hash both strings twice (measured: a third of a one-line rule's time in wasm).
   */
  tagList(key: string, value: string): TagList | null {
    const k = changetype<usize>(key);
    const v = changetype<usize>(value);
    for (let i = 0; i < LOOKUPS; i++) {
      if (changetype<usize>(unchecked(this.lookupKeys[i])) == k && changetype<usize>(unchecked(this.lookupValues[i])) == v) {
        return unchecked(this.lookupLists[i]);
      }
    }
    let list: TagList | null = null;
    if (this.byTag.has(key)) {
      const values = this.byTag.get(key);
      if (values.has(value)) list = values.get(value);
    }
    // The entries hold the strings, so neither can be freed and its address reused by another string.
    const slot = this.nextLookup;
    this.nextLookup = (slot + 1) % LOOKUPS;
    unchecked((this.lookupKeys[slot] = key));
    unchecked((this.lookupValues[slot] = value));
    unchecked((this.lookupLists[slot] = list));
    return list;
  }

  /** The hosts not in `list`, one list per table: O(1); its indices are listed on first read. */
  complementOf(list: TagList): TagList {
    let c = list.complement;
    if (c === null) {
      c = TagList.complementOf(list, this.count, this.healthyCount);
      list.complement = c;
    }
    return c;
  }

  /** The group id of `list`, given on first use; -1 when MAX_GROUPS lists already have one. */
  groupOf(list: TagList): i32 {
    if (list.group < 0 && this.groups.length < MAX_GROUPS) {
      list.group = this.groups.length;
      this.groups.push(list);
    }
    return list.group;
  }
}

/**
 * Check and copy a host table of `len` bytes at `ptr`; null (with tableError set) when a field runs past
 * the end or breaks a limit. The table is built aside and only handed out whole.
 */
export function decodeTable(ptr: usize, len: u32): HostTable | null {
  if (len < 4) return failTable("count runs past the end of the table", 0);
  const count = load<u32>(ptr);
  if (count > <u32>MAX_HOSTS) {
    tableError = "host table: count " + count.toString() + " exceeds MAX_HOSTS " + MAX_HOSTS.toString();
    return null;
  }
  const bytes = new ArrayBuffer(<i32>len);
  memory.copy(changetype<usize>(bytes), ptr, <usize>len);
  const base = changetype<usize>(bytes);
  const records = new StaticArray<u32>(<i32>count);
  const table = new HostTable(bytes, <i32>count, records);
  let healthy = 0;
  let pos: u32 = 4;
  for (let i: u32 = 0; i < count; i++) {
    unchecked((records[<i32>i] = pos));
    if (len - pos < 4) return failHost(i, "address length", pos);
    const addressLen = load<u32>(base + pos);
    pos += 4;
    if (addressLen > len - pos) return failHost(i, "address", pos);
    pos += addressLen;
    if (len - pos < 12) return failHost(i, "weight, flags and tag_count", pos);
    const weight = load<u32>(base + pos);
    const flags = load<u32>(base + pos + 4);
    const tagCount = load<u32>(base + pos + 8);
    if (weight > <u32>MAX_WEIGHT) return failHostValue(i, "weight " + weight.toString() + " exceeds MAX_WEIGHT " + MAX_WEIGHT.toString(), pos);
    if ((flags & ~1) != 0) return failHostValue(i, "flags " + flags.toString() + " has bits other than bit 0", pos + 4);
    if (tagCount > <u32>MAX_TAGS_PER_HOST) {
      return failHostValue(i, "tag_count " + tagCount.toString() + " exceeds MAX_TAGS_PER_HOST " + MAX_TAGS_PER_HOST.toString(), pos + 8);
    }
    if ((flags & 1) != 0) {
      healthy++;
      unchecked((table.healthy[<i32>i] = 1));
    }
    pos += 12;
    for (let t: u32 = 0; t < tagCount; t++) {
      if (len - pos < 4) return failHost(i, "tag key length", pos);
      const keyLen = load<u32>(base + pos);
      pos += 4;
      if (keyLen > len - pos) return failHost(i, "tag key", pos);
      const keyAt = pos;
      pos += keyLen;
      if (len - pos < 4) return failHost(i, "tag value length", pos);
      const valueLen = load<u32>(base + pos);
      pos += 4;
      if (valueLen > len - pos) return failHost(i, "tag value", pos);
      const valueAt = pos;
      pos += valueLen;
      indexTag(table, tagKeys.get(base + keyAt, keyLen), tagValues.get(base + valueAt, valueLen), <i32>i);
    }
  }
  if (pos != len) {
    tableError = "host table: " + (len - pos).toString() + " bytes left over after the last host at offset " + pos.toString();
    return null;
  }
  table.healthyCount = healthy;
  countHealthy(table);
  return table;
}

/** Counts the healthy hosts of every tag list, once per table, so that a request asks in O(1). */
function countHealthy(table: HostTable): void {
  const keys = table.byTag.values();
  for (let k = 0; k < keys.length; k++) {
    const lists = unchecked(keys[k]).values();
    for (let v = 0; v < lists.length; v++) {
      const list = unchecked(lists[v]);
      let n = 0;
      for (let i = 0; i < list.indices.length; i++) if (table.isHealthy(unchecked(list.indices[i]))) n++;
      list.healthy = n;
    }
  }
}

function indexTag(table: HostTable, key: string, value: string, index: i32): void {
  let values: Map<string, TagList>;
  if (table.byTag.has(key)) values = table.byTag.get(key);
  else {
    values = new Map<string, TagList>();
    table.byTag.set(key, values);
  }
  let tagList: TagList;
  if (values.has(value)) tagList = values.get(value);
  else {
    tagList = new TagList();
    values.set(value, tagList);
  }
  const list = tagList.indices;
  // A host repeating the same tag must not appear twice in the list.
  if (list.length == 0 || list[list.length - 1] != index) list.push(index);
}

function failTable(what: string, pos: u32): HostTable | null {
  tableError = "host table: " + what + " at offset " + pos.toString();
  return null;
}

function failHost(i: u32, field: string, pos: u32): HostTable | null {
  tableError = "host table: host " + i.toString() + " " + field + " runs past the end of the table at offset " + pos.toString();
  return null;
}

function failHostValue(i: u32, what: string, pos: u32): HostTable | null {
  tableError = "host table: host " + i.toString() + " " + what + " at offset " + pos.toString();
  return null;
}

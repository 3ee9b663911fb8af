// The three first example rules written in plain TypeScript over the same snapshot, as a customer would
// hard-code them into a Node proxy: the baseline the wasm chain is compared with. It gets the same advantage
// the SDK has: an index built once per snapshot (ascending index lists per tag, their healthy counts and the
// complement of each list), so a request intersects sorted lists (O(a + b)) and never scans every host.

import type { ClusterSnapshot } from "../host/cluster/types.js";

function header(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, "utf8");
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

interface TagList {
  readonly indices: Uint32Array;
  readonly healthy: number;
  /** Every host not in `indices`, ascending. */
  readonly others: Uint32Array;
}

const EMPTY: TagList = { indices: new Uint32Array(0), healthy: 0, others: new Uint32Array(0) };

/** Index of hosts by tag, built once per snapshot, as the SDK does inside the plugin. */
export class TagIndex {
  private readonly map = new Map<string, TagList>();
  constructor(readonly snapshot: ClusterSnapshot) {
    const lists = new Map<string, number[]>();
    snapshot.hosts.forEach((h, i) => {
      for (const k in h.tags) {
        const key = `${k}=${h.tags[k]}`;
        (lists.get(key) ?? lists.set(key, []).get(key)!).push(i);
      }
    });
    const n = snapshot.hosts.length;
    for (const [key, list] of lists) {
      const inList = new Set(list);
      const others: number[] = [];
      for (let i = 0; i < n; i++) if (!inList.has(i)) others.push(i);
      const healthy = list.filter((i) => snapshot.hosts[i]!.healthy).length;
      this.map.set(key, { indices: Uint32Array.from(list), healthy, others: Uint32Array.from(others) });
    }
  }
  get(k: string, v: string): TagList {
    return this.map.get(`${k}=${v}`) ?? EMPTY;
  }
}

/** Ascending `a` ∩ ascending `b` (null = every host). */
function intersect(a: Uint32Array | null, b: Uint32Array): Uint32Array {
  if (a === null) return b;
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.subarray(0, n);
}

/** null = every host offered / kept. */
export type Offer = Uint32Array | null;

export function canary(raw: readonly string[], idx: TagIndex, offered: Offer): Offer {
  const v = header(raw, "x-canary");
  const list = idx.get("version", "canary");
  if (v === "1" || v === "true") return intersect(offered, list.indices);
  return list.indices.length === 0 ? offered : intersect(offered, list.others);
}

export function zoneAffinity(raw: readonly string[], idx: TagIndex, offered: Offer, minHealthy = 2): Offer {
  const zone = header(raw, "x-zone");
  if (zone === undefined || zone === "") return offered;
  const list = idx.get("zone", zone);
  if (offered === null) return list.healthy >= minHealthy ? list.indices : offered;
  const inZone = intersect(offered, list.indices);
  let healthy = 0;
  for (const i of inZone) if (idx.snapshot.hosts[i]!.healthy) healthy++;
  return healthy >= minHealthy ? inZone : offered;
}

export function versionSplit(raw: readonly string[], idx: TagIndex, offered: Offer, percent = 20): Offer {
  const user = header(raw, "x-user");
  const to = user !== undefined && fnv1a(user) % 100 < percent ? "v2" : "v1";
  return intersect(offered, idx.get("version", to).indices);
}

export function chainOfThree(raw: readonly string[], idx: TagIndex): Offer {
  return versionSplit(raw, idx, zoneAffinity(raw, idx, canary(raw, idx, null)));
}

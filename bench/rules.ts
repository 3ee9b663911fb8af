// The three first example rules written in plain TypeScript over the same snapshot, as a customer would
// hard-code them into a Node proxy: the baseline the wasm chain is compared with.

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

/** Index of hosts by tag, built once per snapshot, as the SDK does inside the plugin. */
export class TagIndex {
  private readonly map = new Map<string, number[]>();
  constructor(readonly snapshot: ClusterSnapshot) {
    snapshot.hosts.forEach((h, i) => {
      for (const k in h.tags) {
        const key = `${k}=${h.tags[k]}`;
        (this.map.get(key) ?? this.map.set(key, []).get(key)!).push(i);
      }
    });
  }
  get(k: string, v: string): number[] {
    return this.map.get(`${k}=${v}`) ?? [];
  }
}

export function canary(raw: readonly string[], idx: TagIndex, offered: number[] | null): number[] | null {
  const v = header(raw, "x-canary");
  if (v !== "1" && v !== "true") return offered;
  const c = idx.get("version", "canary");
  return offered === null ? c : c.filter((i) => offered.includes(i));
}

export function zoneAffinity(raw: readonly string[], idx: TagIndex, offered: number[] | null, minHealthy = 2): number[] | null {
  const zone = header(raw, "x-zone");
  if (zone === undefined) return offered;
  const inZone = idx.get("zone", zone).filter((i) => offered === null || offered.includes(i));
  const healthy = inZone.filter((i) => idx.snapshot.hosts[i]!.healthy).length;
  return healthy >= minHealthy ? inZone : offered;
}

export function versionSplit(raw: readonly string[], idx: TagIndex, offered: number[] | null, percent = 20): number[] | null {
  const user = header(raw, "x-user");
  if (user === undefined) return offered;
  const to = fnv1a(user) % 100 < percent ? "v2" : "v1";
  const kept = idx.get("version", to).filter((i) => offered === null || offered.includes(i));
  return kept.length > 0 ? kept : offered;
}

import { describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { mutableHost } from "./helpers/mutable-host.js";
import { buildTable, isPrime, MaglevBalancer } from "../host/cluster/lb/maglev.js";
import type { Host } from "../host/cluster/types.js";
import { all, KEYS, mapKeys, range, seq, spec, specsOf } from "./helpers/lb.js";

describe("maglev", () => {
  it("sends the same key to the same host, every time and from a fresh balancer", () => {
    const s = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) }).snapshot();
    const a = new MaglevBalancer(Math.random);
    const b = new MaglevBalancer(Math.random);
    for (const key of ["alice", "bob", "", "ключ", "x".repeat(1000)]) {
      const first = a.pick(all(s), { hashKey: key });
      for (let i = 0; i < 20; i++) expect(a.pick(all(s), { hashKey: key })).toBe(first);
      expect(b.pick(all(s), { hashKey: key })).toBe(first);
    }
  });

  it("spreads 10,000 keys over 10 hosts within ±35% of even, and by weight", () => {
    const s = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) }).snapshot();
    const got = new Map<string, number>();
    for (const a of mapKeys(new MaglevBalancer(Math.random), all(s))) got.set(a, (got.get(a) ?? 0) + 1);
    expect(got.size).toBe(10);
    for (const c of got.values()) expect(Math.abs(c - 1000)).toBeLessThan(350);

    const w = new Cluster({ name: "r", hosts: [spec(1, 3), spec(2, 1)] }).snapshot();
    const heavy = mapKeys(new MaglevBalancer(Math.random), all(w)).filter((a) => a === w.hosts[0]!.address).length;
    expect(heavy / KEYS.length).toBeGreaterThan(0.68);
    expect(heavy / KEYS.length).toBeLessThan(0.82);
  });

  it("moves about 1/N of the keys, most to the new host, when one host is added to 10", () => {
    const cluster = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) });
    const lb = new MaglevBalancer(Math.random);
    const before = mapKeys(lb, all(cluster.snapshot()));
    cluster.update(specsOf(range(1, 12)));
    const after = mapKeys(lb, all(cluster.snapshot()));
    const moved = KEYS.filter((_, i) => before[i] !== after[i]).length;
    const toNew = after.filter((a) => a === spec(11).address).length;
    const ideal = KEYS.length / 11;
    // Maglev trades a little extra disruption for even spread: allow up to twice the ideal.
    expect(toNew).toBeGreaterThan(ideal * 0.8);
    expect(toNew).toBeLessThan(ideal * 1.2);
    expect(moved).toBeGreaterThanOrEqual(toNew);
    expect(moved).toBeLessThan(ideal * 2);
  });

  it("moves about 1/N of the keys when one host of 10 is removed, all of the removed host's", () => {
    const cluster = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) });
    const lb = new MaglevBalancer(Math.random);
    const before = mapKeys(lb, all(cluster.snapshot()));
    const gone = spec(4).address;
    cluster.update(specsOf(range(1, 11).filter((i) => i !== 4)));
    const after = mapKeys(lb, all(cluster.snapshot()));
    const moved = KEYS.filter((_, i) => before[i] !== after[i]).length;
    const ofGone = before.filter((a) => a === gone).length;
    expect(after.includes(gone)).toBe(false);
    expect(moved).toBeGreaterThanOrEqual(ofGone);
    expect(moved).toBeLessThan((KEYS.length / 10) * 2);
  });

  it("an explicit subset hashes like a cluster of just those hosts", () => {
    const full = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) }).snapshot();
    const ids = [1, 2, 3, 5, 6, 7, 8, 9, 10];
    const small = new Cluster({ name: "r2", hosts: specsOf(ids) }).snapshot();
    const lb = new MaglevBalancer(Math.random);
    const viaSubset = mapKeys(lb, { snapshot: full, indices: Uint32Array.from(ids.map((i) => i - 1)), count: ids.length });
    expect(viaSubset).toEqual(mapKeys(lb, all(small)));
  });

  it("walks past an unhealthy or excluded owner, moving only that host's keys, and back when healthy", () => {
    const cluster = new Cluster({ name: "r", hosts: specsOf(range(1, 6)) });
    const lb = new MaglevBalancer(Math.random);
    const before = mapKeys(lb, all(cluster.snapshot()));
    const sick = mutableHost(cluster.snapshot().hosts[2]!);
    sick.setHealthy(false, "outlier");
    const during = mapKeys(lb, all(cluster.snapshot()));
    const wrong = KEYS.filter((_, i) => (before[i] === sick.address ? during[i] === sick.address : during[i] !== before[i]));
    expect(wrong).toEqual([]);
    sick.setHealthy(true, "outlier");
    expect(mapKeys(lb, all(cluster.snapshot()))).toEqual(before);

    const s = cluster.snapshot();
    const key = KEYS.find((_, i) => before[i] === sick.address)!;
    const other = lb.pick(all(s), { hashKey: key, exclude: new Set<Host>([sick]) });
    expect(other).not.toBe(sick);
    expect(lb.pick(all(s), { hashKey: key, exclude: new Set(s.hosts) })).toBeNull();
  });

  it("picks at random without a key", () => {
    const s = new Cluster({ name: "r", hosts: specsOf(range(1, 5)) }).snapshot();
    const lb = new MaglevBalancer(seq([0, 0.3, 0.6, 0.9]));
    expect(Array.from({ length: 4 }, () => s.hosts.indexOf(lb.pick(all(s), {})!))).toEqual([0, 1, 2, 3]);
  });

  it("fills every slot, each host in proportion to its weight", () => {
    const s = new Cluster({ name: "r", hosts: [spec(1, 1), spec(2, 2), spec(3, 4)] }).snapshot();
    const table = buildTable(all(s), 65537);
    const per = [0, 0, 0];
    for (const slot of table.slots) per[slot]!++;
    expect(per[0]! + per[1]! + per[2]!).toBe(65537);
    [1, 2, 4].forEach((w, i) => expect(Math.abs(per[i]! - (65537 * w) / 7) / ((65537 * w) / 7)).toBeLessThan(0.01));
  });

  it("works with a small prime table", () => {
    const s = new Cluster({ name: "r", hosts: specsOf(range(1, 4)) }).snapshot();
    const lb = new MaglevBalancer(Math.random, 251);
    const got = new Set(mapKeys(lb, all(s)));
    expect(got.size).toBe(3);
    expect(isPrime(65537)).toBe(true);
    expect(isPrime(65536)).toBe(false);
  });

  it("returns null for an empty subset", () => {
    const s = new Cluster({ name: "r", hosts: [] }).snapshot();
    expect(new MaglevBalancer(Math.random).pick(all(s), { hashKey: "k" })).toBeNull();
  });
});

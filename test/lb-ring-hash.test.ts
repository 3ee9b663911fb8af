import { describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { mutableHost } from "./helpers/mutable-host.js";
import { buildRing, RingHashBalancer } from "../host/cluster/lb/ring-hash.js";
import type { Host } from "../host/cluster/types.js";
import { all, KEYS, mapKeys, range, seq, spec, specsOf } from "./helpers/lb.js";

describe("ring hash", () => {
  it("sends the same key to the same host, every time and from a fresh balancer", () => {
    const s = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) }).snapshot();
    const a = new RingHashBalancer(Math.random);
    const b = new RingHashBalancer(Math.random);
    for (const key of ["alice", "bob", "", "ключ", "x".repeat(1000)]) {
      const first = a.pick(all(s), { hashKey: key });
      for (let i = 0; i < 20; i++) expect(a.pick(all(s), { hashKey: key })).toBe(first);
      expect(b.pick(all(s), { hashKey: key })).toBe(first);
    }
  });

  it("spreads 10,000 keys over 10 hosts within ±35% of even, and by weight", () => {
    const s = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) }).snapshot();
    const got = new Map<string, number>();
    for (const a of mapKeys(new RingHashBalancer(Math.random), all(s))) got.set(a, (got.get(a) ?? 0) + 1);
    expect(got.size).toBe(10);
    for (const c of got.values()) expect(Math.abs(c - 1000)).toBeLessThan(350);

    const w = new Cluster({ name: "r", hosts: [spec(1, 3), spec(2, 1)] }).snapshot();
    const heavy = mapKeys(new RingHashBalancer(Math.random), all(w)).filter((a) => a === w.hosts[0]!.address).length;
    expect(heavy / KEYS.length).toBeGreaterThan(0.68);
    expect(heavy / KEYS.length).toBeLessThan(0.82);
  });

  it("moves about 1/N of the keys, all to the new host, when one host is added to 10", () => {
    const cluster = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) });
    const lb = new RingHashBalancer(Math.random);
    const before = mapKeys(lb, all(cluster.snapshot()));
    cluster.update(specsOf(range(1, 12)));
    const after = mapKeys(lb, all(cluster.snapshot()));
    const movedTo = after.filter((a, i) => a !== before[i]);
    const moved = movedTo;
    expect(movedTo.every((a) => a === spec(11).address)).toBe(true);
    const ideal = KEYS.length / 11;
    expect(moved.length).toBeGreaterThan(ideal * 0.6);
    expect(moved.length).toBeLessThan(ideal * 1.5);
  });

  it("moves only the removed host's keys when one host of 10 is removed", () => {
    const cluster = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) });
    const lb = new RingHashBalancer(Math.random);
    const before = mapKeys(lb, all(cluster.snapshot()));
    const gone = spec(4).address;
    cluster.update(specsOf(range(1, 11).filter((i) => i !== 4)));
    const after = mapKeys(lb, all(cluster.snapshot()));
    const movedFrom = before.filter((a, i) => a !== after[i]);
    const moved = movedFrom.length;
    expect(movedFrom.every((a) => a === gone)).toBe(true);
    expect(moved).toBe(before.filter((a) => a === gone).length);
    expect(moved).toBeGreaterThan(600);
    expect(moved).toBeLessThan(1400);
  });

  it("an explicit subset hashes like a cluster of just those hosts", () => {
    const full = new Cluster({ name: "r", hosts: specsOf(range(1, 11)) }).snapshot();
    const ids = [1, 2, 3, 5, 6, 7, 8, 9, 10];
    const small = new Cluster({ name: "r2", hosts: specsOf(ids) }).snapshot();
    const lb = new RingHashBalancer(Math.random);
    const viaSubset = mapKeys(lb, { snapshot: full, indices: Uint32Array.from(ids.map((i) => i - 1)), count: ids.length });
    expect(viaSubset).toEqual(mapKeys(lb, all(small)));
  });

  it("walks past an unhealthy or excluded owner, moving only that host's keys, and back when healthy", () => {
    const cluster = new Cluster({ name: "r", hosts: specsOf(range(1, 6)) });
    const lb = new RingHashBalancer(Math.random);
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
    const lb = new RingHashBalancer(seq([0, 0.3, 0.6, 0.9]));
    expect(Array.from({ length: 4 }, () => s.hosts.indexOf(lb.pick(all(s), {})!))).toEqual([0, 1, 2, 3]);
  });

  it("gives each host points in proportion to weight and replicas, at least one", () => {
    const s = new Cluster({ name: "r", hosts: [spec(1, 1), spec(2, 2), spec(3, 1_000_000)] }).snapshot();
    const ring = buildRing(all(s), 100);
    const per = [0, 0, 0];
    for (const o of ring.owners) per[o]!++;
    expect(per[0]).toBeGreaterThanOrEqual(1);
    expect(per[2]).toBeGreaterThan(290);
    for (let i = 1; i < ring.points.length; i++) expect(ring.points[i]!).toBeGreaterThanOrEqual(ring.points[i - 1]!);
  });

  it("returns null for an empty subset", () => {
    const s = new Cluster({ name: "r", hosts: [] }).snapshot();
    expect(new RingHashBalancer(Math.random).pick(all(s), { hashKey: "k" })).toBeNull();
  });
});

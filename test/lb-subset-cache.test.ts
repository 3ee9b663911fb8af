import { describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { mutableHost } from "./helpers/mutable-host.js";
import { fingerprint, hashString } from "../host/cluster/lb/hash.js";
import { SubsetCache } from "../host/cluster/lb/subset-cache.js";
import type { ClusterSnapshot, Subset } from "../host/cluster/types.js";

function cluster(n: number): Cluster {
  return new Cluster({ name: "c", hosts: Array.from({ length: n }, (_, i) => ({ address: `127.0.10.${i + 1}:80`, weight: 1, tags: {} })) });
}
const some = (s: ClusterSnapshot, idx: number[]): Subset => ({ snapshot: s, indices: Uint32Array.from(idx), count: idx.length });

describe("per-subset balancer state", () => {
  it("builds once for the whole list and once per distinct subset, whatever buffer carries it", () => {
    const s = cluster(6).snapshot();
    let builds = 0;
    const cache = new SubsetCache((sub) => ({ n: ++builds, count: sub.count }));
    const whole = cache.get({ snapshot: s, indices: null, count: 6 });
    expect(cache.get({ snapshot: s, indices: null, count: 6 })).toBe(whole);
    const a = cache.get(some(s, [0, 2, 4]));
    expect(cache.get(some(s, [0, 2, 4]))).toBe(a);
    // Same indices at the front of a bigger reused buffer.
    expect(cache.get({ snapshot: s, indices: Uint32Array.from([0, 2, 4, 5, 5]), count: 3 })).toBe(a);
    const b = cache.get(some(s, [0, 2, 5]));
    expect(b).not.toBe(a);
    expect(builds).toBe(3);
  });

  it("survives a health flip (same hosts array) and rebuilds for a new host list", () => {
    const c = cluster(3);
    let builds = 0;
    const cache = new SubsetCache(() => ++builds);
    const first = c.snapshot();
    cache.get({ snapshot: first, indices: null, count: 3 });
    mutableHost(first.hosts[0]!).setHealthy(false, "active");
    const flipped = c.snapshot();
    expect(flipped.id).not.toBe(first.id);
    expect(flipped.hosts).toBe(first.hosts);
    cache.get({ snapshot: flipped, indices: null, count: 3 });
    expect(builds).toBe(1);
    c.update([{ address: "127.0.10.9:80", weight: 1, tags: {} }]);
    cache.get({ snapshot: c.snapshot(), indices: null, count: 1 });
    expect(builds).toBe(2);
  });

  it("keeps at most maxSubsets explicit subsets per host list, dropping the oldest", () => {
    const s = cluster(20).snapshot();
    let builds = 0;
    const cache = new SubsetCache(() => ++builds, 4);
    for (let i = 0; i < 6; i++) cache.get(some(s, [i]));
    expect(builds).toBe(6);
    cache.get(some(s, [5])); // still there
    expect(builds).toBe(6);
    cache.get(some(s, [0])); // dropped, built again
    expect(builds).toBe(7);
  });

  it("hashes are stable and fingerprints tell different subsets apart", () => {
    expect(hashString("abc")).toBe(hashString("abc"));
    expect(hashString("abc", 1)).not.toBe(hashString("abc", 2));
    expect(hashString("ab")).not.toBe(hashString("ba"));
    expect(fingerprint(Uint32Array.from([1, 2]), 2)).not.toBe(fingerprint(Uint32Array.from([2, 1]), 2));
    expect(fingerprint(Uint32Array.from([1, 2, 3]), 2)).toBe(fingerprint(Uint32Array.from([1, 2]), 2));
  });
});

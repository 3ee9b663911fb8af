import { describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { mutableHost } from "./helpers/mutable-host.js";
import { RoundRobinBalancer } from "../host/cluster/lb/round-robin.js";
import { HostStatus, type ClusterSnapshot, type Host, type Subset } from "../host/cluster/types.js";

function snapshotOf(n: number): ClusterSnapshot {
  const hosts = Array.from({ length: n }, (_, i) => ({ address: `127.0.10.${i + 1}:80`, weight: 1, tags: {} }));
  return new Cluster({ name: "rr", hosts }).snapshot();
}
const all = (s: ClusterSnapshot): Subset => ({ snapshot: s, indices: null, count: s.hosts.length });
const some = (s: ClusterSnapshot, idx: number[]): Subset => ({ snapshot: s, indices: Uint32Array.from(idx), count: idx.length });
const octet = (h: Host | null) => (h === null ? null : Number(h.address.split(".")[3]!.split(":")[0]) - 1);

function picks(lb: RoundRobinBalancer, subset: () => Subset, n: number, exclude?: ReadonlySet<Host>) {
  return Array.from({ length: n }, () => octet(lb.pick(subset(), { exclude })));
}

describe("round robin", () => {
  it("visits hosts in subset order, wrapping", () => {
    const s = snapshotOf(3);
    expect(picks(new RoundRobinBalancer(), () => all(s), 7)).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });

  it("rotates over explicit indices, given in a fresh buffer each time", () => {
    const s = snapshotOf(5);
    expect(picks(new RoundRobinBalancer(), () => some(s, [1, 3, 4]), 6)).toEqual([1, 3, 4, 1, 3, 4]);
  });

  it("keeps one cursor per subset when requests alternate between subsets", () => {
    const s = snapshotOf(4);
    const lb = new RoundRobinBalancer();
    const seq: Array<number | null> = [];
    for (let i = 0; i < 6; i++) seq.push(octet(lb.pick(some(s, i % 2 === 0 ? [0, 1] : [2, 3]), {})));
    expect(seq).toEqual([0, 2, 1, 3, 0, 2]);
  });

  it("reads only the first count indices of a larger, reused buffer", () => {
    const s = snapshotOf(4);
    const buf = Uint32Array.from([2, 3, 0, 1]);
    const lb = new RoundRobinBalancer();
    const seq = Array.from({ length: 4 }, () => octet(lb.pick({ snapshot: s, indices: buf, count: 2 }, {})));
    expect(seq).toEqual([2, 3, 2, 3]);
  });

  it("skips unhealthy and Unavailable hosts without doubling a neighbour's turn, but not Connecting ones", () => {
    const s = snapshotOf(4);
    mutableHost(s.hosts[1]!).setHealthy(false, "active");
    mutableHost(s.hosts[2]!).setStatus(HostStatus.Unavailable);
    mutableHost(s.hosts[3]!).setStatus(HostStatus.Connecting);
    expect(picks(new RoundRobinBalancer(), () => all(s), 6)).toEqual([0, 3, 0, 3, 0, 3]);
  });

  it("skips excluded hosts and returns null when all are excluded or the subset is empty", () => {
    const s = snapshotOf(3);
    const lb = new RoundRobinBalancer();
    expect(picks(lb, () => all(s), 4, new Set([s.hosts[0]!]))).toEqual([1, 2, 1, 2]);
    expect(lb.pick(all(s), { exclude: new Set(s.hosts) })).toBeNull();
    expect(lb.pick(some(s, []), {})).toBeNull();
  });

  it("falls back to every offered host when none is healthy", () => {
    const s = snapshotOf(3);
    for (const h of s.hosts) mutableHost(h).setHealthy(false, "outlier");
    expect(picks(new RoundRobinBalancer(), () => all(s), 4)).toEqual([0, 1, 2, 0]);
    // ...but still honours exclude in that fallback.
    expect(picks(new RoundRobinBalancer(), () => all(s), 2, new Set([s.hosts[0]!]))).toEqual([1, 2]);
  });
});

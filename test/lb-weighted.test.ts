import { describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { mutableHost } from "./helpers/mutable-host.js";
import { WeightedRoundRobinBalancer } from "../host/cluster/lb/weighted-round-robin.js";
import type { ClusterSnapshot, Subset } from "../host/cluster/types.js";

const specs = (weights: number[]) => weights.map((weight, i) => ({ address: `127.0.10.${i + 1}:80`, weight, tags: {} }));
const all = (s: ClusterSnapshot): Subset => ({ snapshot: s, indices: null, count: s.hosts.length });

function counts(lb: WeightedRoundRobinBalancer, subset: Subset, picks: number): number[] {
  const out = new Array<number>(subset.snapshot.hosts.length).fill(0);
  for (let i = 0; i < picks; i++) out[subset.snapshot.hosts.indexOf(lb.pick(subset, {})!)]!++;
  return out;
}

function expectRatios(got: number[], weights: number[]) {
  const total = got.reduce((a, b) => a + b, 0);
  const sum = weights.reduce((a, b) => a + b, 0);
  weights.forEach((w, i) => {
    const want = (total * w) / sum;
    if (w === 0) expect(got[i]).toBe(0);
    else expect(Math.abs(got[i]! - want) / want).toBeLessThan(0.02);
  });
}

describe("weighted round robin (EDF)", () => {
  it("gives the exact EDF order for weights 2:1:1", () => {
    const s = new Cluster({ name: "w", hosts: specs([2, 1, 1]) }).snapshot();
    const lb = new WeightedRoundRobinBalancer();
    const seq = Array.from({ length: 8 }, () => s.hosts.indexOf(lb.pick(all(s), {})!));
    expect(seq).toEqual([0, 0, 1, 2, 0, 0, 1, 2]);
  });

  it("equal weights are plain round robin", () => {
    const s = new Cluster({ name: "w", hosts: specs([7, 7, 7]) }).snapshot();
    const lb = new WeightedRoundRobinBalancer();
    expect(Array.from({ length: 6 }, () => s.hosts.indexOf(lb.pick(all(s), {})!))).toEqual([0, 1, 2, 0, 1, 2]);
  });

  const table: Array<[string, number[]]> = [
    ["1:2:3:4", [1, 2, 3, 4]],
    ["100:1", [100, 1]],
    ["large weights", [1_000_000, 250_000, 500_000]],
    ["10 hosts 1..10", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
  ];
  for (const [name, weights] of table) {
    it(`keeps weight ratios within 2% over 100,000 picks: ${name}`, () => {
      const s = new Cluster({ name: "w", hosts: specs(weights) }).snapshot();
      expectRatios(counts(new WeightedRoundRobinBalancer(), all(s), 100_000), weights);
    });
  }

  it("keeps the ratios among the rest while a host is unhealthy, and resumes it after", () => {
    const cluster = new Cluster({ name: "w", hosts: specs([1, 2, 3, 4]) });
    const lb = new WeightedRoundRobinBalancer();
    const h3 = mutableHost(cluster.snapshot().hosts[3]!);
    h3.setHealthy(false, "outlier");
    expectRatios(counts(lb, all(cluster.snapshot()), 60_000), [1, 2, 3, 0]);
    h3.setHealthy(true, "outlier");
    expectRatios(counts(lb, all(cluster.snapshot()), 100_000), [1, 2, 3, 4]);
  });

  it("respects exclude and weights over explicit subsets", () => {
    const s = new Cluster({ name: "w", hosts: specs([1, 2, 3, 4]) }).snapshot();
    const lb = new WeightedRoundRobinBalancer();
    const sub: Subset = { snapshot: s, indices: Uint32Array.from([0, 3]), count: 2 };
    expectRatios(counts(lb, sub, 50_000), [1, 0, 0, 4]);
    const ex = new Set([s.hosts[3]!]);
    for (let i = 0; i < 10; i++) expect(lb.pick(sub, { exclude: ex })).toBe(s.hosts[0]);
    expect(lb.pick(sub, { exclude: new Set([s.hosts[0]!, s.hosts[3]!]) })).toBeNull();
  });

  it("rebuilds for a new host list with new weights", () => {
    const cluster = new Cluster({ name: "w", hosts: specs([1, 1]) });
    const lb = new WeightedRoundRobinBalancer();
    expectRatios(counts(lb, all(cluster.snapshot()), 10_000), [1, 1]);
    cluster.update(specs([1, 3]));
    expectRatios(counts(lb, all(cluster.snapshot()), 100_000), [1, 3]);
  });

  it("falls back to weights over all hosts when none is healthy", () => {
    const s = new Cluster({ name: "w", hosts: specs([1, 3]) }).snapshot();
    for (const h of s.hosts) mutableHost(h).setHealthy(false, "active");
    expectRatios(counts(new WeightedRoundRobinBalancer(), all(s), 20_000), [1, 3]);
  });
});

import { describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { mutableHost } from "./helpers/mutable-host.js";
import { createBalancer } from "../host/cluster/lb/index.js";
import { RandomBalancer } from "../host/cluster/lb/random.js";
import type { ClusterSnapshot, Host, Subset } from "../host/cluster/types.js";
import { seeded, sequence } from "./helpers/random.js";

function snapshotOf(n: number): ClusterSnapshot {
  const hosts = Array.from({ length: n }, (_, i) => ({ address: `127.0.10.${i + 1}:80`, weight: 1, tags: {} }));
  return new Cluster({ name: "rnd", hosts }).snapshot();
}
const all = (s: ClusterSnapshot): Subset => ({ snapshot: s, indices: null, count: s.hosts.length });
const pos = (s: ClusterSnapshot, h: Host | null) => (h === null ? null : s.hosts.indexOf(h));

describe("random", () => {
  it("maps the injected source onto positions (table)", () => {
    const s = snapshotOf(4);
    const lb = new RandomBalancer(sequence([0, 0.25, 0.5, 0.75, 0.999, 1]));
    // 1 is outside the source's contract and is clamped to the last host.
    expect(Array.from({ length: 6 }, () => pos(s, lb.pick(all(s), {})))).toEqual([0, 1, 2, 3, 3, 3]);
  });

  it("indexes into explicit subsets", () => {
    const s = snapshotOf(6);
    const lb = new RandomBalancer(sequence([0, 0.5, 0.9]));
    const sub: Subset = { snapshot: s, indices: Uint32Array.from([1, 4]), count: 2 };
    expect(Array.from({ length: 3 }, () => pos(s, lb.pick(sub, {})))).toEqual([1, 4, 4]);
  });

  it("is reproducible with a seeded source and spreads evenly (within 5% over 40,000 picks)", () => {
    const s = snapshotOf(4);
    const a = createBalancer("LB_RANDOM", { random: seeded(7) });
    const b = createBalancer("random", { random: seeded(7) });
    const counts = [0, 0, 0, 0];
    let differ = 0;
    for (let i = 0; i < 40_000; i++) {
      const ha = a.pick(all(s), {});
      if (ha !== b.pick(all(s), {})) differ++;
      counts[s.hosts.indexOf(ha!)]!++;
    }
    expect(differ).toBe(0);
    for (const c of counts) expect(Math.abs(c - 10_000) / 10_000).toBeLessThan(0.05);
  });

  it("moves on from an unhealthy or excluded draw to the next good host", () => {
    const s = snapshotOf(4);
    mutableHost(s.hosts[1]!).setHealthy(false, "active");
    const lb = new RandomBalancer(sequence([0.25, 0.5, 0.0]));
    expect(pos(s, lb.pick(all(s), {}))).toBe(2);
    expect(pos(s, lb.pick(all(s), { exclude: new Set([s.hosts[2]!, s.hosts[3]!]) }))).toBe(0);
    expect(lb.pick(all(s), { exclude: new Set(s.hosts) })).toBeNull();
    expect(lb.pick({ snapshot: s, indices: new Uint32Array(0), count: 0 }, {})).toBeNull();
  });
});

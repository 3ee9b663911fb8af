import { describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { mutableHost } from "./helpers/mutable-host.js";
import { LeastRequestBalancer } from "../host/cluster/lb/least-request.js";
import { HostStatus, type ClusterSnapshot, type RandomSource, type Subset } from "../host/cluster/types.js";

function sequence(values: number[]): RandomSource {
  let i = 0;
  return () => values[i++ % values.length]!;
}
function seeded(seed: number): RandomSource {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}
function snapshotOf(n: number): ClusterSnapshot {
  const hosts = Array.from({ length: n }, (_, i) => ({ address: `127.0.10.${i + 1}:80`, weight: 1, tags: {} }));
  return new Cluster({ name: "lr", hosts }).snapshot();
}
const all = (s: ClusterSnapshot): Subset => ({ snapshot: s, indices: null, count: s.hosts.length });
function load(s: ClusterSnapshot, pending: number[]) {
  pending.forEach((p, i) => {
    for (let k = 0; k < p; k++) mutableHost(s.hosts[i]!).onStart();
  });
}

describe("least request (power of two choices)", () => {
  it("takes the less loaded of the two drawn hosts (table)", () => {
    const s = snapshotOf(4);
    load(s, [3, 0, 5, 1]);
    // Draws are (first, second of the remaining three): second index skips over the first.
    const table: Array<[number, number, number]> = [
      // [draw a, draw b, expected position]
      [0.0, 0.0, 1], // hosts 0 (3) and 1 (0) → 1
      [0.5, 0.0, 0], // hosts 2 (5) and 0 (3) → 0
      [0.75, 0.5, 1], // hosts 3 (1) and 1 (0) → 1
      [0.75, 0.99, 3], // hosts 3 (1) and 2 (5) → 3
      [0.5, 0.99, 3], // hosts 2 (5) and 3 (1) → 3
    ];
    for (const [a, b, want] of table) {
      const lb = new LeastRequestBalancer(sequence([a, b]));
      expect(s.hosts.indexOf(lb.pick(all(s), {})!)).toBe(want);
    }
  });

  it("never picks the busiest host of a pair, and with two hosts always the idle one", () => {
    const s = snapshotOf(4);
    load(s, [10, 0, 0, 0]);
    const lb = new LeastRequestBalancer(seeded(42));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[s.hosts.indexOf(lb.pick(all(s), {})!)]!++;
    expect(counts[0]).toBe(0);
    for (const c of counts.slice(1)) expect(c).toBeGreaterThan(800);

    const two = snapshotOf(2);
    load(two, [2, 1]);
    for (let i = 0; i < 50; i++) expect(lb.pick(all(two), {})).toBe(two.hosts[1]);
  });

  it("follows pending counts as requests start and finish", () => {
    const s = snapshotOf(2);
    const lb = new LeastRequestBalancer(seeded(1));
    const h0 = mutableHost(s.hosts[0]!);
    const h1 = mutableHost(s.hosts[1]!);
    h0.onStart();
    expect(lb.pick(all(s), {})).toBe(h1);
    h1.onStart();
    h1.onStart();
    expect(lb.pick(all(s), {})).toBe(h0);
    h1.onFinish();
    h1.onFinish();
    h1.onFinish(); // one too many: pending stays at 0
    expect(h1.pending).toBe(0);
    expect(lb.pick(all(s), {})).toBe(h1);
  });

  it("uses the other draw when one is bad, and scans when both are", () => {
    const s = snapshotOf(4);
    load(s, [0, 9, 9, 9]);
    mutableHost(s.hosts[0]!).setStatus(HostStatus.Unavailable);
    const lb = new LeastRequestBalancer(sequence([0.0, 0.0])); // draws hosts 0 and 1
    expect(lb.pick(all(s), {})).toBe(s.hosts[1]);
    expect(lb.pick(all(s), { exclude: new Set([s.hosts[1]!]) })).toBe(s.hosts[2]);
    expect(lb.pick(all(s), { exclude: new Set(s.hosts) })).toBeNull();
  });

  it("handles a one-host subset", () => {
    const s = snapshotOf(3);
    const lb = new LeastRequestBalancer(seeded(5));
    const sub: Subset = { snapshot: s, indices: Uint32Array.from([2]), count: 1 };
    expect(lb.pick(sub, {})).toBe(s.hosts[2]);
    expect(lb.pick(sub, { exclude: new Set([s.hosts[2]!]) })).toBeNull();
  });
});

// Shared by the balancer tests: host specs by number, whole-cluster subsets, and the 10,000 keys the hashing
// balancers are checked with.
import type { Balancer, ClusterSnapshot, HostSpec, RandomSource, Subset } from "../../host/cluster/types.js";

export const spec = (i: number, weight = 1): HostSpec => ({ address: `10.1.0.${i}:8080`, weight, tags: {} });
export const specsOf = (ids: number[]): HostSpec[] => ids.map((i) => spec(i));
export const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
export const all = (s: ClusterSnapshot): Subset => ({ snapshot: s, indices: null, count: s.hosts.length });
export const KEYS: readonly string[] = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
export const seq = (v: number[]): RandomSource => {
  let i = 0;
  return () => v[i++ % v.length]!;
};

/** The host each key maps to. */
export function mapKeys(lb: Balancer, subset: Subset): string[] {
  return KEYS.map((k) => lb.pick(subset, { hashKey: k })!.address);
}

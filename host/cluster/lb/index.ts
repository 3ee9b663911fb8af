// Balancers by policy name: ours (snake_case, as in the config) and MOSN's lb_type names.

import { BalancerOptionError, UnknownBalancerError } from "../errors.js";
import type { Balancer, RandomSource } from "../types.js";
import { LeastRequestBalancer } from "./least-request.js";
import { DEFAULT_MAGLEV_TABLE_SIZE, isPrime, MaglevBalancer } from "./maglev.js";
import { RandomBalancer } from "./random.js";
import { DEFAULT_HASH_REPLICAS, RingHashBalancer } from "./ring-hash.js";
import { RoundRobinBalancer } from "./round-robin.js";
import { WeightedRoundRobinBalancer } from "./weighted-round-robin.js";

export type LbPolicy = "round_robin" | "random" | "least_request" | "weighted_round_robin" | "ring_hash" | "maglev";

const POLICIES = new Map<string, LbPolicy>([
  ["round_robin", "round_robin"],
  ["random", "random"],
  ["least_request", "least_request"],
  ["weighted_round_robin", "weighted_round_robin"],
  ["ring_hash", "ring_hash"],
  ["maglev", "maglev"],
  ["LB_ROUNDROBIN", "round_robin"],
  ["LB_RANDOM", "random"],
  ["LB_LEAST_REQUEST", "least_request"],
  ["LB_WEIGHTED_ROUNDROBIN", "weighted_round_robin"],
  ["LB_RINGHASH", "ring_hash"],
  ["LB_MAGLEV", "maglev"],
]);

export const LB_POLICY_NAMES: readonly string[] = Object.freeze([...POLICIES.keys()]);

/** Our name for a policy given by either name; throws E_LB_UNKNOWN. */
export function normalizeLbPolicy(name: string): LbPolicy {
  const policy = typeof name === "string" ? POLICIES.get(name) : undefined;
  if (policy === undefined) throw new UnknownBalancerError(String(name), LB_POLICY_NAMES);
  return policy;
}

export const MAX_HASH_REPLICAS = 10000;

export interface BalancerOptions {
  /** Uniform in [0, 1); the only source of randomness of every balancer. */
  readonly random: RandomSource;
  /** ring_hash: points on the ring for a host of average weight (default 160). */
  readonly hashReplicas?: number | undefined;
  /** maglev: lookup table size, a prime above the host count (default 65537). */
  readonly maglevTableSize?: number | undefined;
}

/**
 * @example
 * const lb = createBalancer("LB_ROUNDROBIN", { random: Math.random });
 * const host = lb.pick({ snapshot, indices: null, count: snapshot.hosts.length }, {});
 */
export function createBalancer(type: string, options: BalancerOptions): Balancer {
  const policy = normalizeLbPolicy(type);
  if (typeof options?.random !== "function") throw new BalancerOptionError("random", "expected a function returning [0, 1)");
  switch (policy) {
    case "round_robin":
      return new RoundRobinBalancer();
    case "random":
      return new RandomBalancer(options.random);
    case "least_request":
      return new LeastRequestBalancer(options.random);
    case "weighted_round_robin":
      return new WeightedRoundRobinBalancer();
    case "ring_hash": {
      const replicas = options.hashReplicas ?? DEFAULT_HASH_REPLICAS;
      if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_HASH_REPLICAS) {
        throw new BalancerOptionError("hashReplicas", `${replicas} is not an integer in 1..${MAX_HASH_REPLICAS}`);
      }
      return new RingHashBalancer(options.random, replicas);
    }
    case "maglev": {
      const size = options.maglevTableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
      if (!isPrime(size) || size < 3 || size > 16777259) {
        throw new BalancerOptionError("maglevTableSize", `${size} is not a prime in 3..16777259`);
      }
      return new MaglevBalancer(options.random, size);
    }
  }
}

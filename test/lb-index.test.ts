import { describe, expect, it } from "vitest";
import { ClusterError } from "../host/cluster/errors.js";
import { createBalancer, LB_POLICY_NAMES, normalizeLbPolicy } from "../host/cluster/lb/index.js";
import { LeastRequestBalancer } from "../host/cluster/lb/least-request.js";
import { MaglevBalancer } from "../host/cluster/lb/maglev.js";
import { RandomBalancer } from "../host/cluster/lb/random.js";
import { RingHashBalancer } from "../host/cluster/lb/ring-hash.js";
import { RoundRobinBalancer } from "../host/cluster/lb/round-robin.js";
import { WeightedRoundRobinBalancer } from "../host/cluster/lb/weighted-round-robin.js";

const random = () => 0.5;

describe("createBalancer", () => {
  const table: Array<[string, string, new (...a: never[]) => unknown]> = [
    ["round_robin", "LB_ROUNDROBIN", RoundRobinBalancer],
    ["random", "LB_RANDOM", RandomBalancer],
    ["least_request", "LB_LEAST_REQUEST", LeastRequestBalancer],
    ["weighted_round_robin", "LB_WEIGHTED_ROUNDROBIN", WeightedRoundRobinBalancer],
    ["ring_hash", "LB_RINGHASH", RingHashBalancer],
    ["maglev", "LB_MAGLEV", MaglevBalancer],
  ];
  for (const [ours, mosn, cls] of table) {
    it(`builds ${ours} from "${ours}" and "${mosn}"`, () => {
      expect(createBalancer(ours, { random })).toBeInstanceOf(cls);
      expect(createBalancer(mosn, { random })).toBeInstanceOf(cls);
      expect(normalizeLbPolicy(mosn)).toBe(ours);
    });
  }

  it("lists every name it accepts", () => {
    expect(LB_POLICY_NAMES).toHaveLength(12);
  });

  const bad: Array<[string, unknown, string, RegExp]> = [
    ["unknown name", "LB_FASTEST", "E_LB_UNKNOWN", /unknown load-balancing policy "LB_FASTEST"; known: round_robin/],
    ["wrong case", "Round_Robin", "E_LB_UNKNOWN", /"Round_Robin"/],
    ["prototype key", "constructor", "E_LB_UNKNOWN", /"constructor"/],
    ["not a string", 42, "E_LB_UNKNOWN", /"42"/],
  ];
  for (const [what, name, code, message] of bad) {
    it(`refuses ${what} with ${code}`, () => {
      const err = (() => {
        try {
          createBalancer(name as string, { random });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ClusterError);
      expect((err as ClusterError).code).toBe(code);
      expect((err as Error).message).toMatch(message);
    });
  }

  it("refuses bad options with E_LB_OPTION naming the option", () => {
    const cases: Array<[string, object, string]> = [
      ["ring_hash", { hashReplicas: 0 }, "hashReplicas"],
      ["ring_hash", { hashReplicas: 1.5 }, "hashReplicas"],
      ["ring_hash", { hashReplicas: 1e9 }, "hashReplicas"],
      ["maglev", { maglevTableSize: 65536 }, "maglevTableSize"],
      ["maglev", { maglevTableSize: 2 }, "maglevTableSize"],
      ["random", { random: undefined }, "random"],
    ];
    for (const [policy, opts, option] of cases) {
      expect(() => createBalancer(policy, { random, ...opts } as never)).toThrow(
        expect.objectContaining({ code: "E_LB_OPTION", option }) as Error,
      );
    }
  });
});

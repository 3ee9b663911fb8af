import { describe, expect, it } from "vitest";
import { seeded } from "./helpers/random.js";
import type { RandomSource } from "../host/cluster/types.js";
import type { ClusterChoice, RouteAction } from "../host/config/types.js";
import { pickCluster } from "../host/router/weighted.js";

function action(weights: Record<string, number>): RouteAction {
  const clusters: ClusterChoice[] = Object.entries(weights).map(([name, weight]) => ({ name, weight, metadataMatch: {}, fallback: "none" }));
  return {
    kind: "route", clusters, totalWeight: clusters.reduce((s, c) => s + c.weight, 0), timeoutMs: 1000,
    retry: { numRetries: 0, perTryTimeoutMs: null, retryOnStatuses: [], retryOnGrpcStatuses: [] }, prefixRewrite: null, hostRewrite: null,
    requestHeadersToAdd: [], plugins: null, optionalPlugins: [], waitMaxCount: 3, failFast: false,
  };
}
const fixed = (value: number): RandomSource => () => value;


describe("pickCluster", () => {
  const a = action({ stable: 90, canary: 10 });

  it.each([
    [0, "stable"], [0.5, "stable"], [0.8999, "stable"], [0.9, "canary"], [0.95, "canary"], [0.99999, "canary"],
    [1, "canary"], // a source that (wrongly) returns 1 still gets a cluster
  ])("random %d → %s", (r, expected) => {
    expect(pickCluster(a, fixed(r)).name).toBe(expected);
  });

  it("with a single cluster does not call the random source", () => {
    let calls = 0;
    const one = action({ only: 1 });
    expect(pickCluster(one, () => (calls++, 0.5)).name).toBe("only");
    expect(calls).toBe(0);
  });

  it("splits traffic in proportion to the weights (10k seeded picks, within 2%)", () => {
    const three = action({ a: 50, b: 30, c: 20 });
    const random = seeded(42);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 10_000; i++) counts[pickCluster(three, random).name]!++;
    expect(Math.abs(counts["a"]! / 10_000 - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(counts["b"]! / 10_000 - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(counts["c"]! / 10_000 - 0.2)).toBeLessThan(0.02);
  });

  it("returns the config's own choice objects (metadata and fallback come with them)", () => {
    expect(pickCluster(a, fixed(0.1))).toBe(a.clusters[0]);
  });
});

// A route's forward policies, compiled once per config: one per cluster the route can choose, so that
// weighted_clusters honour each cluster's own connect_timeout (the pool of a host is created with it).

import { describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/parse.js";
import { buildRouting } from "../host/server/routing.js";
import { anyHost, mosnConfig } from "./helpers/switchyard.js";

function routingOf(route: object) {
  const doc = mosnConfig({
    clusters: [
      { name: "stable", hosts: ["127.0.0.1:1"], extra: { connect_timeout: "250ms" } },
      { name: "canary", hosts: ["127.0.0.1:2"], extra: { connect_timeout: "4s" } },
    ],
    virtualHosts: [anyHost([{ match: { prefix: "/" }, route }])],
  });
  const { config } = parseConfig(JSON.stringify(doc), "t.json");
  const m = buildRouting(config, "r").table.match("any.example", "/", () => undefined);
  if (m?.kind !== "route") throw new Error("the route did not match");
  return m.prepared;
}

describe("compiled routes", () => {
  it("weighted_clusters: each cluster's policy carries that cluster's connect_timeout", () => {
    const compiled = routingOf({ weighted_clusters: [{ cluster: { name: "stable", weight: 75 } }, { cluster: { name: "canary", weight: 25 } }], timeout: "2s" });
    expect([...compiled.policies.keys()]).toEqual(["stable", "canary"]);
    expect(compiled.policies.get("stable")).toMatchObject({ connectTimeoutMs: 250, timeoutMs: 2_000 });
    expect(compiled.policies.get("canary")).toMatchObject({ connectTimeoutMs: 4_000, timeoutMs: 2_000 });
  });

  it("cluster_name: one policy, with the cluster's connect_timeout", () => {
    const compiled = routingOf({ cluster_name: "canary" });
    expect([...compiled.policies.keys()]).toEqual(["canary"]);
    expect(compiled.policies.get("canary")!.connectTimeoutMs).toBe(4_000);
  });
});

import { describe, expect, it } from "vitest";
import * as errors from "../host/cluster/errors.js";

// Every error class of the cluster module, constructed, with the code callers match on.
const made: Array<[errors.ClusterError, string, RegExp]> = [
  [new errors.HostSpecError("api", 2, "weight", "bad"), "E_HOST_INVALID", /cluster "api": hosts\[2\]\.weight: bad/],
  [new errors.DuplicateHostError("api", 3, "a:1", 0), "E_HOST_DUPLICATE", /hosts\[3\]\.address: "a:1" already given at hosts\[0\]/],
  [new errors.TooManyHostsError("api", 70000, 65536), "E_CLUSTER_TOO_MANY_HOSTS", /70000 hosts, at most 65536/],
  [new errors.ClusterConfigError("api", "lbPolicy", "bad"), "E_CLUSTER_INVALID", /cluster "api": lbPolicy: bad/],
  [new errors.ClusterNotFoundError("api"), "E_CLUSTER_NOT_FOUND", /"api" does not exist/],
  [new errors.ClusterExistsError("api"), "E_CLUSTER_EXISTS", /"api" already exists/],
  [new errors.ClusterClosedError("api"), "E_CLUSTER_CLOSED", /"api" was removed/],
  [new errors.UnknownBalancerError("x", ["a", "b"]), "E_LB_UNKNOWN", /"x"; known: a, b/],
  [new errors.BalancerOptionError("hashReplicas", "bad"), "E_LB_OPTION", /hashReplicas: bad/],
  [new errors.NoAvailableHostError("api", 5), "E_NO_AVAILABLE_HOST", /within 5 ms/],
  [new errors.OutlierConfigError("baseEjectionMs", "bad"), "E_OUTLIER_INVALID", /baseEjectionMs: bad/],
  [new errors.HealthCheckConfigError("intervalMs", "bad"), "E_HEALTH_CHECK_INVALID", /health check: intervalMs: bad/],
];

describe("cluster errors", () => {
  it("covers every exported error class", () => {
    const classes = Object.values(errors).filter((v) => typeof v === "function" && v !== errors.ClusterError);
    expect(new Set(made.map(([e]) => e.constructor))).toEqual(new Set(classes));
  });

  for (const [err, code, message] of made) {
    it(`${err.name} has code ${code} and says where`, () => {
      expect(err).toBeInstanceOf(errors.ClusterError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(err.name).toBe(err.constructor.name);
      expect(err.message).toMatch(message);
    });
  }

  it("codes are distinct", () => {
    expect(new Set(made.map(([, c]) => c)).size).toBe(made.length);
  });
});

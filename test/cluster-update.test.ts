import { describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { ClusterError } from "../host/cluster/errors.js";
import { MutableHost } from "../host/cluster/host.js";
import { mutableHost } from "./helpers/mutable-host.js";
import { HostStatus, type Host, type HostSpec } from "../host/cluster/types.js";

const h = (address: string, weight = 1, tags: Record<string, string> = {}): HostSpec => ({ address, weight, tags });

function caught(fn: () => unknown): ClusterError & { index?: number; field?: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ClusterError) return err;
    throw err;
  }
  throw new Error("expected a ClusterError");
}

describe("cluster host list", () => {
  it("starts at version 1 with frozen hosts in config order, Available and healthy", () => {
    const c = new Cluster({ name: "api", hosts: [h("127.0.10.1:80"), h("[::1]:8080"), h("svc.internal:9000", 3, { zone: "a" })] });
    const s = c.snapshot();
    expect(s.version).toBe(1);
    expect(s.cluster).toBe("api");
    expect(Object.isFrozen(s) && Object.isFrozen(s.hosts)).toBe(true);
    expect(s.hosts.map((x) => x.address)).toEqual(["127.0.10.1:80", "[::1]:8080", "svc.internal:9000"]);
    expect(s.hosts.every((x) => x.healthy && x.status === HostStatus.Available && x.pending === 0)).toBe(true);
    expect(s.hosts[2]!.weight).toBe(3);
    expect(Object.isFrozen(s.hosts[2]!.tags)).toBe(true);
    expect(() => (s.hosts as Host[]).push(s.hosts[0]!)).toThrow();
  });

  const invalid: Array<[string, unknown, string, number, string, RegExp]> = [
    ["not an array", "127.0.10.1:80", "E_HOST_INVALID", -1, "hosts", /expected an array/],
    ["not an object", [42], "E_HOST_INVALID", 0, "", /expected an object/],
    ["no port", [h("127.0.10.1")], "E_HOST_INVALID", 0, "address", /is not "host:port"/],
    ["port 0", [h("127.0.10.1:80"), h("127.0.10.2:0")], "E_HOST_INVALID", 1, "address", /port 0 .* outside 1..65535/],
    ["port 65536", [h("a:65536")], "E_HOST_INVALID", 0, "address", /outside 1..65535/],
    ["port text", [h("a:http")], "E_HOST_INVALID", 0, "address", /port "http"/],
    ["bad IPv4", [h("127.0.10.300:80")], "E_HOST_INVALID", 0, "address", /not a valid IPv4/],
    ["bare IPv6", [h("::1:80")], "E_HOST_INVALID", 0, "address", /must be in brackets/],
    ["bad name", [h("bad name:80")], "E_HOST_INVALID", 0, "address", /not a valid host name/],
    ["address not string", [{ address: 1, weight: 1, tags: {} }], "E_HOST_INVALID", 0, "address", /expected a string/],
    ["weight 0", [h("a:1", 0)], "E_HOST_INVALID", 0, "weight", /not an integer in 1..1000000/],
    ["weight too big", [h("a:1", 1_000_001)], "E_HOST_INVALID", 0, "weight", /1..1000000/],
    ["weight fraction", [h("a:1", 1.5)], "E_HOST_INVALID", 0, "weight", /1..1000000/],
    ["tag not string", [{ address: "a:1", weight: 1, tags: { zone: 3 } }], "E_HOST_INVALID", 0, "tags.zone", /expected a string/],
    ["tags array", [{ address: "a:1", weight: 1, tags: [] }], "E_HOST_INVALID", 0, "tags", /expected an object/],
    ["healthy text", [{ address: "a:1", weight: 1, tags: {}, healthy: "yes" }], "E_HOST_INVALID", 0, "healthy", /true or false/],
    ["duplicate", [h("a:1"), h("b:1"), h("A:1")], "E_HOST_DUPLICATE", 2, "address", /"A:1" already given at hosts\[0\]/],
  ];
  for (const [what, specs, code, index, field, message] of invalid) {
    it(`refuses ${what} with ${code} at hosts[${index}].${field}, changing nothing`, () => {
      const c = new Cluster({ name: "api", hosts: [h("127.9.9.10:80")] });
      const before = c.snapshot();
      const err = caught(() => c.update(specs as HostSpec[]));
      expect(err.code).toBe(code);
      expect(err.index).toBe(index);
      expect(err.field).toBe(field);
      expect(err.message).toMatch(message);
      expect(err.message).toContain('cluster "api"');
      expect(c.snapshot()).toBe(before);
    });
  }

  it("refuses more than 65,536 hosts", () => {
    const specs = Array.from({ length: 65_537 }, (_, i) => h(`h${i}:80`));
    const err = caught(() => new Cluster({ name: "big", hosts: specs }));
    expect(err.code).toBe("E_CLUSTER_TOO_MANY_HOSTS");
    expect(err.message).toMatch(/65537 hosts, at most 65536/);
  });

  it("adds one version per change and none for an identical update", () => {
    const c = new Cluster({ name: "api", hosts: [h("a:1"), h("b:1")] });
    const first = c.snapshot();
    expect(c.update([h("a:1"), h("b:1")])).toBe(first);
    const second = c.update([h("a:1"), h("b:1", 2)]);
    expect(second.version).toBe(2);
    expect(second.id).not.toBe(first.id);
    expect(c.update([h("b:1", 2), h("a:1")]).version).toBe(3); // order is the host table's order
    expect(c.update([h("b:1", 2), h("a:1", 1, { zone: "x" })]).version).toBe(4);
    expect(c.update([h("b:1", 2), h("a:1", 1, { zone: "x" })]).version).toBe(4);
  });

  it("keeps the host object, pending count and status of an address that stays; new spec fields apply", () => {
    const c = new Cluster({ name: "api", hosts: [h("a:1"), h("b:1")] });
    const a = mutableHost(c.snapshot().hosts[0]!);
    a.onStart();
    a.onStart();
    a.setStatus(HostStatus.Connecting);
    c.update([h("c:1"), h("a:1", 5, { version: "v2" })]);
    const s = c.snapshot();
    expect(s.hosts[1]).toBe(a);
    expect(a.pending).toBe(2);
    expect(a.status).toBe(HostStatus.Connecting);
    expect(a.weight).toBe(5);
    expect(a.tags).toEqual({ version: "v2" });
    expect(s.hosts[0]).toBeInstanceOf(MutableHost);
    expect(c.host("a:1")).toBe(a);
    expect(c.host("b:1")).toBeUndefined();
  });

  it("reports removed hosts after the new snapshot is in place", () => {
    const c = new Cluster({ name: "api", hosts: [h("a:1"), h("b:1"), h("c:1")] });
    const [, b, cc] = c.snapshot().hosts;
    const seen: Array<{ removed: string[]; version: number }> = [];
    c.onRemoved((hosts) => seen.push({ removed: hosts.map((x) => x.address), version: c.snapshot().version }));
    c.update([h("a:1"), h("b:1"), h("c:1")]);
    expect(seen).toEqual([]);
    c.update([h("a:1"), h("d:1")]);
    expect(seen).toEqual([{ removed: ["b:1", "c:1"], version: 2 }]);
    // A removed host no longer talks to the cluster.
    let statusEvents = 0;
    c.onStatusChange(() => statusEvents++);
    mutableHost(b!).setStatus(HostStatus.Unavailable);
    mutableHost(cc!).setHealthy(false, "active");
    expect(statusEvents).toBe(0);
    expect(c.snapshot().version).toBe(2);
  });

  it("makes a new snapshot on a health flip, over the same frozen hosts array", () => {
    const c = new Cluster({ name: "api", hosts: [h("a:1"), h("b:1", 1), { ...h("c:1"), healthy: false }] });
    const first = c.snapshot();
    expect(first.hosts[2]!.healthy).toBe(false);
    const snaps: number[] = [];
    c.onSnapshot((s) => snaps.push(s.version));
    const b = mutableHost(first.hosts[1]!);
    b.setHealthy(false, "outlier");
    b.setHealthy(false, "active"); // already unhealthy: no change
    b.setHealthy(true, "outlier"); // still unhealthy by "active"
    b.setHealthy(true, "active");
    expect(snaps).toEqual([2, 3]);
    expect(c.snapshot().hosts).toBe(first.hosts);
    expect(c.snapshot().version).toBe(3);
    // Configured health follows the spec.
    c.update([h("a:1"), h("b:1"), h("c:1")]);
    expect(c.snapshot().hosts[2]!.healthy).toBe(true);
  });

  it("changes its balancer when reconfigured with another policy, and refuses a rename", () => {
    const c = new Cluster({ name: "api", lbPolicy: "round_robin", hosts: [h("a:1")] });
    const rr = c.balancer;
    c.reconfigure({ name: "api", lbPolicy: "LB_ROUNDROBIN", hosts: [h("a:1")] });
    expect(c.balancer).toBe(rr);
    c.reconfigure({ name: "api", lbPolicy: "maglev", hashHeader: "X-User", hosts: [h("a:1")] });
    expect(c.balancer).not.toBe(rr);
    expect(c.settings.hashHeader).toBe("x-user");
    expect(caught(() => c.reconfigure({ name: "web", hosts: [] })).code).toBe("E_CLUSTER_INVALID");
  });

  it("validates settings with E_CLUSTER_INVALID naming the field", () => {
    const cases: Array<[unknown, string]> = [
      [null, ""],
      [{ name: "" }, "name"],
      [{ name: "a b" }, "name"],
      [{ name: "x", lbPolicy: "LB_NOPE" }, "lbPolicy"],
      [{ name: "x", fallback: "some" }, "fallback"],
      [{ name: "x", fallback: "default" }, "defaultSubset"],
      [{ name: "x", defaultSubset: { zone: 1 } }, "defaultSubset.zone"],
      [{ name: "x", hashHeader: "bad header" }, "hashHeader"],
      [{ name: "x", hashReplicas: 0 }, "hashReplicas"],
    ];
    for (const [config, field] of cases) {
      const err = caught(() => new Cluster(config as never));
      expect(err.code).toBe("E_CLUSTER_INVALID");
      expect(err.field).toBe(field);
    }
  });

  it("after close, reports every host removed and refuses updates", () => {
    const c = new Cluster({ name: "api", hosts: [h("a:1"), h("b:1")] });
    const removed: string[][] = [];
    c.onRemoved((hosts) => removed.push(hosts.map((x) => x.address)));
    c.close();
    c.close();
    expect(removed).toEqual([["a:1", "b:1"]]);
    expect(caught(() => c.update([])).code).toBe("E_CLUSTER_CLOSED");
  });

  it("a throwing listener does not break the swap or other listeners", () => {
    const errors: unknown[] = [];
    const c = new Cluster({ name: "api", hosts: [h("a:1")] }, { onListenerError: (e) => errors.push(e) });
    let called = 0;
    c.onSnapshot(() => {
      throw new Error("boom");
    });
    c.onSnapshot(() => called++);
    c.update([h("b:1")]);
    expect(c.snapshot().hosts[0]!.address).toBe("b:1");
    expect(called).toBe(1);
    expect(errors).toHaveLength(1);
  });
});

describe("Cluster.updateInSlices (a long host list without stalling the event loop)", () => {
  const many = (n: number, port: number): HostSpec[] => Array.from({ length: n }, (_, i) => h(`127.1.${(i >> 8) & 255}.${i & 255}:${port}`));

  it("yields to the event loop between slices, then swaps in one step; hosts that stay keep their object", async () => {
    const c = new Cluster({ name: "big", hosts: [h("127.1.0.0:80")] });
    const kept = c.host("127.1.0.0:80");
    const seen: number[] = [];
    let turns = 0;
    let stop = false;
    const ping = (): void => {
      if (stop) return;
      turns++;
      seen.push(c.snapshot().hosts.length);
      setImmediate(ping);
    };
    setImmediate(ping);
    const snap = await c.updateInSlices(many(10_000, 80));
    stop = true;
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(new Set(seen)).toEqual(new Set([1])); // never a half-built list
    expect(snap.version).toBe(2);
    expect(snap.hosts).toHaveLength(10_000);
    expect(c.host("127.1.0.0:80")).toBe(kept);
  });

  it("a bad spec deep in the list refuses it whole, naming its index, and changes nothing", async () => {
    const c = new Cluster({ name: "big", hosts: [h("127.0.0.1:80")] });
    const before = c.snapshot();
    const list: unknown[] = many(9_000, 80);
    list[8_500] = { address: "127.0.0.1:0", weight: 1, tags: {} };
    const err = await c.updateInSlices(list as HostSpec[]).then(() => null, (e: unknown) => e as ClusterError & { index?: number });
    expect(err).toBeInstanceOf(ClusterError);
    expect(err!.index).toBe(8_500);
    expect(err!.message).toMatch(/8500/);
    expect(c.snapshot()).toBe(before);
  });

  it("a synchronous update landing while the list is built is not interleaved: the sliced list is rebuilt over it and swapped in whole (callers order updates: host/server/host.ts clusterExclusive)", async () => {
    const c = new Cluster({ name: "big", hosts: [h("127.0.0.1:80")] });
    const pending = c.updateInSlices(many(6_000, 81));
    c.update([h("127.0.0.2:80")]); // lands during the slices
    const snap = await pending;
    expect(snap.hosts).toHaveLength(6_000);
    expect(snap.hosts.every((x) => x.address.endsWith(":81"))).toBe(true);
    expect(c.snapshot()).toBe(snap);
  });
});

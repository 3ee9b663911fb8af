import { describe, expect, it } from "vitest";
import { ClusterManager } from "../host/cluster/cluster-manager.js";
import { mutableHost } from "./helpers/mutable-host.js";
import type { HostSpec } from "../host/cluster/types.js";

const h = (address: string): HostSpec => ({ address, weight: 1, tags: {} });

describe("cluster manager", () => {
  it("adds clusters and hands out their snapshots by name (ours and MOSN's getClusterSnapshot)", () => {
    const m = new ClusterManager({ random: () => 0 });
    const api = m.add({ name: "api", lbPolicy: "LB_RANDOM", hosts: [h("a:1")] });
    expect(m.get("api")).toBe(api);
    expect(m.snapshot("api")).toBe(api.snapshot());
    expect(m.getClusterSnapshot("api")).toBe(api.snapshot());
    expect(m.getClusterSnapshot("nope")).toBeUndefined();
    expect(() => m.snapshot("nope")).toThrow(expect.objectContaining({ code: "E_CLUSTER_NOT_FOUND" }) as Error);
    expect(() => m.add({ name: "api", hosts: [] })).toThrow(expect.objectContaining({ code: "E_CLUSTER_EXISTS" }) as Error);
    expect(api.balancer.pick({ snapshot: api.snapshot(), indices: null, count: 1 }, {})?.address).toBe("a:1");
  });

  it("replace keeps host state; replace of an unknown cluster throws", () => {
    const m = new ClusterManager();
    m.add({ name: "api", hosts: [h("a:1"), h("b:1")] });
    const a = mutableHost(m.snapshot("api").hosts[0]!);
    a.onStart();
    const before = m.get("api");
    m.replace({ name: "api", lbPolicy: "least_request", hosts: [h("a:1")] });
    expect(m.get("api")).toBe(before);
    expect(m.snapshot("api").hosts[0]).toBe(a);
    expect(a.pending).toBe(1);
    expect(m.get("api")!.settings.lbPolicy).toBe("least_request");
    expect(() => m.replace({ name: "web", hosts: [] })).toThrow(expect.objectContaining({ code: "E_CLUSTER_NOT_FOUND" }) as Error);
  });

  it("remove reports every host of the cluster removed, once", () => {
    const m = new ClusterManager();
    const events: Array<[string, string[]]> = [];
    m.onHostsRemoved((cluster, hosts) => events.push([cluster, hosts.map((x) => x.address)]));
    m.add({ name: "api", hosts: [h("a:1"), h("b:1")] });
    m.get("api")!.update([h("a:1")]);
    expect(m.remove("api")).toBe(true);
    expect(m.remove("api")).toBe(false);
    expect(m.get("api")).toBeUndefined();
    expect(events).toEqual([
      ["api", ["b:1"]],
      ["api", ["a:1"]],
    ]);
  });

  it("replaceAll validates every cluster before changing anything", () => {
    const m = new ClusterManager();
    m.add({ name: "api", hosts: [h("a:1")] });
    m.add({ name: "old", hosts: [h("o:1")] });
    const apiBefore = m.snapshot("api");
    expect(() => m.replaceAll([{ name: "api", hosts: [h("z:1")] }, { name: "web", hosts: [h("w:0")] }])).toThrow(
      expect.objectContaining({ code: "E_HOST_INVALID", index: 0, field: "address" }) as Error,
    );
    expect(() => m.replaceAll([{ name: "api", hosts: [] }, { name: "api", hosts: [] }])).toThrow(
      expect.objectContaining({ code: "E_CLUSTER_INVALID", field: "clusters[1].name" }) as Error,
    );
    expect(m.snapshot("api")).toBe(apiBefore);
    expect(m.names().sort()).toEqual(["api", "old"]);

    const removed: string[] = [];
    m.onHostsRemoved((_c, hosts) => removed.push(...hosts.map((x) => x.address)));
    const api = m.get("api");
    m.replaceAll([{ name: "api", hosts: [h("a:1"), h("a2:1")] }, { name: "web", hosts: [h("w:1")] }]);
    expect(m.names().sort()).toEqual(["api", "web"]);
    expect(m.get("api")).toBe(api);
    expect(m.snapshot("api").version).toBe(2);
    expect(removed).toEqual(["o:1"]);
    expect(m.get("old")).toBeUndefined();
  });

  it("a snapshot taken before a change stays as it was", () => {
    const m = new ClusterManager();
    m.add({ name: "api", hosts: [h("a:1")] });
    const held = m.snapshot("api");
    m.get("api")!.update([h("b:1"), h("c:1")]);
    expect(held.hosts.map((x) => x.address)).toEqual(["a:1"]);
    expect(m.snapshot("api").hosts).toHaveLength(2);
  });
});

// Group answers (sdk/ABI.md §5.3) through the real chain and the real example plugins: the decisions equal
// the rules computed by hand, the same request shape hands on the same index array (so the per-request cost
// does not grow with hosts and the balancers find their cached state), a new snapshot fetches the groups
// again, and a malformed group answer is the plugin's failure, leaving the next plugin the same offer.

import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RequestParts } from "../host/abi/codec.js";
import { HostStatus, type ClusterSnapshot, type Host } from "../host/cluster/types.js";
import { loadBundle } from "../host/plugin/bundle.js";
import { PluginChain, type ChainDecision } from "../host/plugin/chain.js";
import { TableRegistry } from "../host/plugin/table-registry.js";
import { RouterPlugin } from "../host/plugin/plugin.js";

const root = new URL("../", import.meta.url).pathname;
const bundle = (name: string) => loadBundle(join(root, "build/plugins", name));

function snapshot(n: number, id: number, canaryEvery = 10): ClusterSnapshot {
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    const version = i % canaryEvery === 0 ? "canary" : i % 3 ? "v1" : "v2";
    hosts.push({ address: `10.0.${i >> 8}.${i & 255}:80`, hostname: undefined, weight: 1, healthy: i % 7 !== 0, tags: { version, zone: `z${i % 4}` }, status: HostStatus.Available, pending: 0 });
  }
  return { cluster: "groups", version: id, id, hosts };
}

function request(headers: Record<string, string>): RequestParts {
  return { method: "GET", path: "/", authority: "a", rawHeaders: Object.entries(headers).flat() };
}

const fnv = (s: string) => {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
};

/** The three rules by hand, from their plugin.json default configs. */
function expected(s: ClusterSnapshot, h: Record<string, string>): number[] {
  let set = s.hosts.map((_, i) => i);
  const tag = (i: number, k: string) => s.hosts[i]!.tags[k];
  const on = h["x-canary"] === "1" || h["x-canary"] === "true";
  set = set.filter((i) => (tag(i, "version") === "canary") === on);
  const zone = h["x-zone"];
  if (zone) {
    const local = set.filter((i) => tag(i, "zone") === zone);
    if (local.filter((i) => s.hosts[i]!.healthy).length >= 2) set = local;
  }
  const user = h["x-user"];
  const to = user !== undefined && fnv(user) % 100 < 20 ? "v2" : "v1";
  // version-split leaves an offer that holds none of the chosen version (e.g. only canaries) as it is.
  const split = set.filter((i) => tag(i, "version") === to);
  return split.length > 0 ? split : set;
}

const indices = (d: ChainDecision) => (d.outcome === "accept" ? (d.subset.indices === null ? null : [...d.subset.indices]) : d.outcome);

describe("group answers through the chain", () => {
  let three: PluginChain;
  beforeAll(async () => {
    const plugins = await Promise.all(["header-canary", "zone-affinity", "version-split"].map(async (n) => RouterPlugin.create(await bundle(n), undefined, 0)));
    three = new PluginChain(plugins, new TableRegistry());
  });

  it("decides as the rules computed by hand, over requests and snapshots", () => {
    const requests = [
      {},
      { "x-canary": "1" },
      { "x-canary": "0", "x-zone": "z1" },
      { "x-canary": "true", "x-zone": "z2", "x-user": "u-1" },
      { "x-zone": "z3", "x-user": "user-12345" },
      { "x-zone": "z9", "x-user": "user-7" },
    ];
    for (const [n, every] of [[40, 10], [100, 50], [1000, 4]] as const) {
      const s = snapshot(n, n, every);
      for (let round = 0; round < 2; round++) {
        for (const h of requests) expect([n, h, indices(three.run(request(h), s))]).toEqual([n, h, expected(s, h)]);
      }
    }
  });

  it("hands on the same index array for the same request shape, and new arrays for a new snapshot", () => {
    const s = snapshot(1000, 7);
    const off = request({ "x-canary": "0", "x-zone": "z1", "x-user": "u" });
    const a = three.run(off, s);
    const b = three.run(off, s);
    expect(a.outcome === "accept" && b.outcome === "accept").toBe(true);
    if (a.outcome !== "accept" || b.outcome !== "accept") return;
    expect(b.subset.indices).toBe(a.subset.indices);
    expect(b.steps.map((x) => [x.plugin, x.in, x.out])).toEqual(a.steps.map((x) => [x.plugin, x.in, x.out]));
    expect(b.metadata).toEqual([["version", "v1"]]);
    // The same hosts under a new snapshot: the plugins get the table again, the host fetches its groups again.
    const s2 = { ...s, version: 8, id: 8 };
    const c = three.run(off, s2);
    expect(c.outcome === "accept" && c.subset.indices !== a.subset.indices).toBe(true);
    expect(indices(c)).toEqual(expected(s2, { "x-canary": "0", "x-zone": "z1", "x-user": "u" }));
  });
});

describe("malformed group answers", () => {
  const RAW = join(root, "test/fixtures/raw-answer/bundle");

  async function rawAfterCanary(policy: "open" | "closed") {
    const raw = await loadBundle(RAW);
    const rawPlugin = RouterPlugin.create({ ...raw, metadata: { ...raw.metadata, failurePolicy: policy, order: 50 } }, undefined, 0);
    const canary = RouterPlugin.create(await bundle("header-canary"), undefined, 0);
    return { chain: new PluginChain([canary, rawPlugin], new TableRegistry()), rawPlugin };
  }

  /** Writes the 24-byte answer head the raw-answer fixture will give back. */
  function answerWith(p: RouterPlugin, head: number[]): void {
    const g = p.instance()!.guest;
    const out = g.output();
    const dv = new DataView(g.view().buffer, out, 24);
    head.forEach((v, i) => dv.setInt32(4 * i, v, true));
  }

  it("a group the plugin does not know fails it on field kept; fail open leaves the next plugin the same offer", async () => {
    const { chain, rawPlugin } = await rawAfterCanary("open");
    const s = snapshot(100, 1);
    chain.run(request({}), s); // loads the table into both plugins
    answerWith(rawPlugin, [0, -2 - 3, 0, 0, 0, 0]);
    const d = chain.run(request({ "x-canary": "0" }), s);
    expect(d.outcome).toBe("accept");
    const step = d.steps[1]!;
    expect(step).toMatchObject({ plugin: "raw-answer", outcome: "failed" });
    expect(step.failure).toMatchObject({ kind: "answer", code: "E_PLUGIN_ANSWER" });
    expect(step.failure!.detail).toMatch(/^invalid answer: kept -5 names group 3, which the plugin's sy_group does not know/);
    // header-canary's offer (every host but the canaries) goes on unchanged.
    expect(indices(d)).toEqual(s.hosts.map((_, i) => i).filter((i) => i % 10 !== 0));
  });

  it("a group with a reject verdict fails the plugin, closed policy fails the request", async () => {
    const { chain, rawPlugin } = await rawAfterCanary("closed");
    const s = snapshot(20, 2);
    chain.run(request({}), s);
    answerWith(rawPlugin, [1, -2, 403, 0, 0, 0]);
    const d = chain.run(request({}), s);
    expect(d.outcome).toBe("fail");
    if (d.outcome === "fail") expect(d.failure.detail).toMatch(/^invalid answer: kept -2 names a group with a verdict other than accept/);
  });
});

describe("the chain's counters (host/plugin/counters.ts)", () => {
  it("counts every call and verdict exactly, times one run in timingEvery, and builds steps only when asked", async () => {
    const names = ["deny", "header-canary", "zone-affinity"];
    const plugins = await Promise.all(names.map(async (n) => RouterPlugin.create(await bundle(n), undefined, 0)));
    const chain = new PluginChain(plugins, new TableRegistry(), 4);
    const s = snapshot(40, 1);
    const before = plugins.map((p) => ({ ...p.counters, timeBuckets: [...p.counters.timeBuckets] }));
    let accepted = 0;
    let kept = 0;
    for (let i = 0; i < 10; i++) {
      // Every fifth request is one deny rejects: the chain stops there.
      const h: Record<string, string> = i % 5 === 4 ? { "x-client": "bad-bot" } : { "x-canary": "0", "x-zone": `z${i % 4}` };
      const d = chain.run(request(h), s, i % 2 === 0);
      expect(d.steps.length).toBe(i % 2 === 0 ? (d.outcome === "reject" ? 1 : 3) : 0);
      if (d.outcome === "accept") {
        accepted++;
        kept += d.subset.count;
        // header-canary then zone-affinity by hand (no version-split here): non-canary hosts of the zone.
        const local = s.hosts.filter((x) => x.tags.version !== "canary" && x.tags.zone === h["x-zone"]);
        expect(d.subset.count).toBe(local.filter((x) => x.healthy).length >= 2 ? local.length : 36);
      }
    }
    const [deny, canary, zone] = plugins.map((p, i) => ({ c: p.counters, b: before[i]! }));
    expect(deny!.c.calls - deny!.b.calls).toBe(10);
    expect([deny!.c.accept - deny!.b.accept, deny!.c.reject - deny!.b.reject]).toEqual([8, 2]);
    expect(canary!.c.calls - canary!.b.calls).toBe(8);
    // header-canary keeps the 36 non-canary hosts of 40, every time.
    expect([canary!.c.kept - canary!.b.kept, canary!.c.dropped - canary!.b.dropped]).toEqual([8 * 36, 8 * 4]);
    expect(zone!.c.kept - zone!.b.kept).toBe(kept);
    expect(zone!.c.accept - zone!.b.accept).toBe(accepted);
    // Runs 4 and 8 of the 10 are timed: deny is called in both, header-canary too (neither is a deny request).
    expect(deny!.c.timedCalls - deny!.b.timedCalls).toBe(2);
    expect(canary!.c.timedCalls - canary!.b.timedCalls).toBe(2);
    const bucketSum = [...deny!.c.timeBuckets].reduce((a, b) => a + b, 0) - deny!.b.timeBuckets.reduce((a, b) => a + b, 0);
    expect(bucketSum).toBe(2);
    expect(deny!.c.timedSeconds).toBeGreaterThan(deny!.b.timedSeconds);
  });
});

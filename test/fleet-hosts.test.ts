// Cluster host lists in etcd: two real `switchyard run --source etcd://…` processes and a real etcd
// (test/helpers/etcd.ts). A list written with `switchyard hosts --source` reaches both through the path of PUT
// /clusters/<name>/hosts (same validation, persisted, swapped), each host reports what it did under a lease,
// a list that PUT would refuse is refused with that PUT's message and changes nothing, and etcd's list wins
// over an admin PUT when its key changes and when a host starts.

import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeKey } from "../host/fleet/fleet-view.js";
import { hostsKey, hostsStatusPrefix } from "../host/fleet/keys.js";
import { etcdClient } from "../host/fleet/etcd-client.js";
import { parseSource } from "../host/fleet/source-url.js";
import { startEtcd, stopFleet, untilFleet, type EtcdProcess } from "./helpers/etcd.js";
import { cli, get, hostConfig, put, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const PREFIX = "/fleet-hosts";
const TOKEN = "fleet-token";
let root: string;
let etcd: EtcdProcess;
let ups: Upstream[];
const hosts = new Map<string, HostProcess>();

async function startHost(id: string): Promise<HostProcess> {
  const p = await spawnHost({ configFile: join(root, `${id}.json`), args: ["--source", etcd.url(PREFIX, "ttl=2"), "--host-id", id], env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
  hosts.set(id, p);
  return p;
}

/** Resolves once every live host reported `revision` (or later) of cluster `cluster`'s host list. */
const untilReported = (cluster: string, revision: number) =>
  untilFleet(etcd.url(PREFIX), hostsStatusPrefix(PREFIX), (v) => v.members.length === hosts.size && v.members.every((m) => v.hostLists.some((s) => s.host === m.host && s.cluster === cluster && s.revision >= revision)));

const list = (...u: Upstream[]) => JSON.stringify(u.map((x) => ({ address: x.address, metadata: { name: x.name } })));

/** The upstreams that answer 6 requests on host `id` (round robin: each host of the list at least once). */
async function answering(id: string): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const r = await get(`${hosts.get(id)!.listenerUrl}/`);
    seen.add(r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : String(r.status));
  }
  return [...seen].sort();
}

async function clusterOf(id: string): Promise<{ hostsVersion: number; hosts: { address: string }[] }> {
  const r = await get(`${hosts.get(id)!.adminUrl}/clusters`);
  return (JSON.parse(r.body) as { clusters: { name: string; hostsVersion: number; hosts: { address: string }[] }[] }).clusters.find((c) => c.name === "c")!;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-fleet-hosts-"));
  etcd = await startEtcd(join(root, "etcd"));
  ups = await Promise.all(["u0", "u1", "u2"].map((n) => startUpstream(n)));
  for (const id of ["a", "b"]) {
    const cfg = hostConfig({ hosts: [{ address: ups[0]!.address, tags: { name: "u0" } }], stateDir: join(root, id, "state") });
    await writeFile(join(root, `${id}.json`), JSON.stringify(cfg));
    await startHost(id);
  }
}, 120_000);

afterAll(() => stopFleet(hosts.values(), etcd, ups, root));

describe("cluster host lists in etcd", () => {
  it("switchyard hosts --source --wait: every host applies the list, persists it, and routes to it; status lists it", async () => {
    expect(await answering("a")).toEqual(["u0"]);
    await writeFile(join(root, "h1.json"), list(ups[1]!, ups[2]!));
    const r = await cli(["hosts", "c", join(root, "h1.json"), "--source", etcd.url(PREFIX), "--wait"]);
    expect(r.stderr).toBe("");
    const rev = Number(/at revision (\d+)/.exec(r.stdout)![1]);
    expect(r.stdout).toBe(`written: ${PREFIX}/clusters/c/hosts at revision ${rev}\na: applied revision ${rev}\nb: applied revision ${rev}\n2 of 2 live host(s) applied revision ${rev}\n`);
    expect(r.code).toBe(0);
    expect([await answering("a"), await answering("b")]).toEqual([["u1", "u2"], ["u1", "u2"]]);
    expect((await clusterOf("b")).hostsVersion).toBe(1);
    const saved = JSON.parse(await readFile(join(root, "b", "state", "clusters", "c.json"), "utf8")) as { hosts: { address: string; tags: object }[] };
    expect(saved.hosts).toEqual([{ address: ups[1]!.address, weight: 1, tags: { name: "u1" } }, { address: ups[2]!.address, weight: 1, tags: { name: "u2" } }]);

    const s = await cli(["status", "--source", etcd.url(PREFIX)]);
    expect(s.code).toBe(0);
    const lines = s.stdout.split("\n").map((l) => l.split(/\s+/).filter((x) => x !== ""));
    const at = lines.findIndex((l) => l[1] === "CLUSTER");
    expect(lines.slice(at, at + 3)).toEqual([
      ["HOST", "CLUSTER", "REVISION", "STATE", "VERSION", "HOSTS", "MESSAGE"],
      ["a", "c", String(rev), "applied", "1", "2"],
      ["b", "c", String(rev), "applied", "1", "2"],
    ]);
  });

  it("a list PUT /clusters/c/hosts refuses is refused by every host with that PUT's message; the old list serves", async () => {
    const bad = JSON.stringify([{ address: ups[0]!.address }, { address: ups[0]!.address.toUpperCase() }]);
    // What the admin API says of the same body (and it changes nothing either).
    const admin = await put(`${hosts.get("a")!.adminUrl}/clusters/c/hosts`, bad, { authorization: `Bearer ${TOKEN}` });
    expect(admin.status).toBe(400);
    const message = (admin.json as { error: { message: string } }).error.message;
    expect(message).toContain("hosts[1]");
    // Written past the CLI's own check, as any etcd client could write it.
    const client = etcdClient(parseSource(etcd.url(PREFIX)));
    const rev = await writeKey(client, hostsKey(PREFIX, "c"), bad).finally(() => client.close());
    const view = await untilReported("c", rev);
    expect(view.hostLists.map((s) => [s.host, s.revision, s.state, s.message])).toEqual([["a", rev, "rejected", message], ["b", rev, "rejected", message]]);
    expect([await answering("a"), await answering("b")]).toEqual([["u1", "u2"], ["u1", "u2"]]);
    expect((await clusterOf("a")).hostsVersion).toBe(1);

    // Not JSON: refused with the admin API's words for a body that is not JSON.
    const client2 = etcdClient(parseSource(etcd.url(PREFIX)));
    const rev2 = await writeKey(client2, hostsKey(PREFIX, "c"), "[{").finally(() => client2.close());
    const v2 = await untilReported("c", rev2);
    expect(v2.hostLists.map((s) => s.state)).toEqual(["rejected", "rejected"]);
    expect(v2.hostLists[0]!.message).toMatch(/^the host list is not JSON: /);
    expect(await answering("b")).toEqual(["u1", "u2"]);
  });

  it("the CLI refuses a bad list before etcd, and --if-match is a compare-and-swap on the key's mod revision", async () => {
    const before = await cli(["status", "--source", etcd.url(PREFIX), "--json"]);
    const current = (JSON.parse(before.stdout) as { hostLists: { revision: number }[] }).hostLists[0]!.revision;
    const bad = await cli(["hosts", "c", "-", "--source", etcd.url(PREFIX)], JSON.stringify([{ address: "127.0.0.1:0" }]));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^switchyard hosts: E_HOST_INVALID: .*hosts\[0\].*address/);
    expect(bad.stdout).toBe("");
    const stale = await cli(["hosts", "c", "-", "--source", etcd.url(PREFIX), "--if-match", String(current - 1)], list(ups[1]!));
    expect(stale.code).toBe(1);
    expect(stale.stderr).toBe(`switchyard hosts: E_SOURCE: ${PREFIX}/clusters/c/hosts is at mod revision ${current}, --if-match says ${current - 1}\n`);
    expect(await answering("a")).toEqual(["u1", "u2"]);
    const ok = await cli(["hosts", "c", "-", "--source", etcd.url(PREFIX), "--if-match", String(current), "--wait"], list(ups[1]!));
    expect(ok.stdout).toContain("2 of 2 live host(s) applied");
    expect(ok.code).toBe(0);
    expect([await answering("a"), await answering("b")]).toEqual([["u1"], ["u1"]]);
  });

  it("a cluster a host does not have is reported unknown-cluster", async () => {
    const r = await cli(["hosts", "elsewhere", "-", "--source", etcd.url(PREFIX), "--wait"], list(ups[0]!));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^a: unknown-cluster revision \d+: cluster "elsewhere" does not exist$/m);
    expect(r.stdout).toContain("0 of 2 live host(s) applied");
  });

  it("an admin PUT lasts until etcd's key changes or the host starts again; then etcd's list wins", async () => {
    const admin = await put(`${hosts.get("a")!.adminUrl}/clusters/c/hosts`, list(ups[2]!), { authorization: `Bearer ${TOKEN}` });
    expect(admin.status).toBe(200);
    expect(await answering("a")).toEqual(["u2"]);
    expect(await answering("b")).toEqual(["u1"]);
    // Restarted: its state folder has the admin's list, etcd another: etcd's is applied at start.
    const a = hosts.get("a")!;
    a.kill("SIGTERM");
    await a.exited;
    const again = await startHost("a");
    await again.waitForLog("etcd's list applied", (l) => l.event === "source-hosts-applied");
    expect(await answering("a")).toEqual(["u1"]);
    // b, which serves etcd's list already, keeps its version when it lists it again.
    const b = hosts.get("b")!;
    const version = (await clusterOf("b")).hostsVersion;
    b.kill("SIGTERM");
    await b.exited;
    const b2 = await startHost("b");
    await b2.waitForLog("etcd's list listed", (l) => l.event === "source-hosts-applied");
    expect((await clusterOf("b")).hostsVersion).toBe(version);
    // And an admin PUT is replaced by the next change of the key.
    await put(`${hosts.get("a")!.adminUrl}/clusters/c/hosts`, list(ups[0]!), { authorization: `Bearer ${TOKEN}` });
    expect(await answering("a")).toEqual(["u0"]);
    const r = await cli(["hosts", "c", "-", "--source", etcd.url(PREFIX), "--wait"], list(ups[2]!));
    expect(r.code).toBe(0);
    expect([await answering("a"), await answering("b")]).toEqual([["u2"], ["u2"]]);
  });
});

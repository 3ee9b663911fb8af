// A fleet of two real `switchyard run --source etcd://…` processes and a real etcd (test/helpers/etcd.ts):
// a config written to etcd reaches both through the push path (the plugin's configure decides, the state
// folder keeps it), each host reports what it did under a lease, and etcd's failures (kill -9, down at start,
// writes while a host is away) end with every host on the last write and no failed request.

import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFleet, writeKey } from "../host/fleet/fleet-view.js";
import { memberKey, membersPrefix, pluginKey } from "../host/fleet/keys.js";
import { etcdClient } from "../host/fleet/etcd-client.js";
import { parseSource } from "../host/fleet/source-url.js";
import { startEtcd, stopFleet, untilFleet, type EtcdProcess } from "./helpers/etcd.js";
import { canaryHostFiles, cli, get, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const PREFIX = "/fleet-test";
let root: string;
let etcd: EtcdProcess;
let upstreams: Upstream[];
const hosts = new Map<string, HostProcess>();

const config = (tagValue: string, extra: Record<string, unknown> = {}) => JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue, ...extra });

async function startHost(id: string): Promise<HostProcess> {
  const p = await spawnHost({ configFile: join(root, `${id}.json`), args: ["--source", etcd.url(PREFIX, "ttl=2"), "--host-id", id] });
  hosts.set(id, p);
  return p;
}

/** Resolves once `n` hosts are members (their lease-bound key written), watching the members prefix. */
const untilMembers = (n: number) => untilFleet(etcd.url(PREFIX), membersPrefix(PREFIX), (v) => v.members.length >= n);

async function answer(id: string): Promise<string> {
  const r = await get(`${hosts.get(id)!.listenerUrl}/x`, { "x-canary": "1" });
  return r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : `${r.status}`;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-fleet-"));
  etcd = await startEtcd(join(root, "etcd"));
  upstreams = [await startUpstream("canary0"), await startUpstream("stable0")];
  for (const id of ["a", "b"]) {
    await canaryHostFiles(root, id, upstreams);
    await startHost(id);
  }
}, 120_000);

afterAll(() => stopFleet(hosts.values(), etcd, upstreams, root));

describe("switchyard run --source etcd://", () => {
  it("a config written with push --source --wait is applied by every host, persisted, and listed by status", async () => {
    expect(await answer("a")).toBe("canary0");
    await writeFile(join(root, "stable.json"), config("stable"));
    const r = await cli(["push", "header-canary", join(root, "stable.json"), "--source", etcd.url(PREFIX), "--wait"]);
    expect(r.stderr).toBe("");
    const rev = Number(/at revision (\d+)/.exec(r.stdout)![1]);
    expect(r.stdout).toBe(
      `written: ${PREFIX}/plugins/header-canary at revision ${rev}\n` +
        `a: applied revision ${rev}\nb: applied revision ${rev}\n2 of 2 live host(s) applied revision ${rev}\n`,
    );
    expect(r.code).toBe(0);
    // Applied before the status was written: the next request sees it, on both hosts.
    expect([await answer("a"), await answer("b")]).toEqual(["stable0", "stable0"]);
    const saved = JSON.parse(await readFile(join(root, "b", "state", "plugins", "header-canary.json"), "utf8")) as { config: string };
    expect(saved.config).toBe(config("stable"));

    const s = await cli(["status", "--source", etcd.url(PREFIX)]);
    expect(s.code).toBe(0);
    expect(s.stdout.split("\n").slice(0, 3).map((l) => l.split(/\s+/))).toEqual([
      ["HOST", "PLUGIN", "REVISION", "STATE", "CONFIG", "MESSAGE"],
      ["a", "header-canary", String(rev), "applied", "1"],
      ["b", "header-canary", String(rev), "applied", "1"],
    ]);
  });

  it("a config the plugin rejects leaves the old one serving, and each host reports the plugin's message", async () => {
    const r = await cli(["push", "header-canary", "-", "--source", etcd.url(PREFIX), "--wait"], JSON.stringify({ values: ["1"] }));
    expect(r.code).toBe(1);
    const rev = Number(/at revision (\d+)/.exec(r.stdout)![1]);
    expect(r.stdout).toMatch(new RegExp(`^a: rejected revision ${rev}: plugin header-canary rejected its config: .+$`, "m"));
    expect(r.stdout).toContain(`0 of 2 live host(s) applied revision ${rev}`);
    expect([await answer("a"), await answer("b")]).toEqual(["stable0", "stable0"]);
    const s = await cli(["status", "--source", etcd.url(PREFIX), "--json"]);
    const view = JSON.parse(s.stdout) as { statuses: { host: string; state: string; revision: number }[] };
    expect(view.statuses.map((x) => [x.host, x.state, x.revision])).toEqual([["a", "rejected", rev], ["b", "rejected", rev]]);
  });

  it("push --source --if-match is a compare-and-swap on the key's mod revision", async () => {
    const view = JSON.parse((await cli(["status", "--source", etcd.url(PREFIX), "--json"])).stdout) as { statuses: { revision: number }[] };
    const current = view.statuses[0]!.revision;
    const stale = await cli(["push", "header-canary", "-", "--source", etcd.url(PREFIX), "--if-match", String(current - 1)], config("stable"));
    expect(stale.code).toBe(1);
    expect(stale.stderr).toBe(`switchyard push: E_SOURCE: ${PREFIX}/plugins/header-canary is at mod revision ${current}, --if-match says ${current - 1}\n`);
    const ok = await cli(["push", "header-canary", "-", "--source", etcd.url(PREFIX), "--if-match", String(current), "--wait"], config("stable"));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("2 of 2 live host(s) applied");
  });

  it("kill -9 of etcd under traffic: no request fails, and after its restart a write reaches every host", async () => {
    let stop = false;
    let ok = 0;
    const failed: string[] = [];
    const traffic = (async () => {
      // Bounded: at most 5000 requests, whatever happens.
      for (let i = 0; i < 5000 && !stop; i++) {
        const id = i % 2 === 0 ? "a" : "b";
        const a = await answer(id).catch((e: Error) => e.message);
        // The write after etcd's restart switches the answer to canary0 while traffic still runs.
        if (a === "stable0" || a === "canary0") ok++;
        else failed.push(`${id}: ${a}`);
      }
    })();
    await etcd.kill("SIGKILL");
    await Promise.all([...hosts.values()].map((p) => p.waitForLog("watch disconnected", (l) => l.event === "source-disconnected" || l.event === "source-unavailable")));
    await etcd.start();
    await untilMembers(2);
    const r = await cli(["push", "header-canary", "-", "--source", etcd.url(PREFIX), "--wait"], config("canary"));
    stop = true;
    await traffic;
    expect(r.stdout).toContain("2 of 2 live host(s) applied");
    expect(r.code).toBe(0);
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    expect([await answer("a"), await answer("b")]).toEqual(["canary0", "canary0"]);
  });

  it("a host that dies leaves the status list; restarted after 50 writes, it catches up to the last", async () => {
    const settings = parseSource(etcd.url(PREFIX));
    const client = etcdClient(settings);
    try {
      const w = await client.watch().key(memberKey(PREFIX, "b")).create();
      const gone = new Promise<void>((resolve) => w.on("delete", () => resolve()));
      hosts.get("b")!.kill("SIGKILL");
      await hosts.get("b")!.exited;
      await gone; // the lease (ttl=2) expired
      await w.cancel();
      expect((await readFleet(client, PREFIX)).members.map((m) => m.host)).toEqual(["a"]);

      let last = 0;
      for (let i = 0; i < 50; i++) last = await writeKey(client, pluginKey(PREFIX, "header-canary"), config(i % 2 === 0 ? "canary" : "stable", { values: ["1", `n${i}`] }));
      const b = await startHost("b");
      await b.waitForLog("revision applied", (l) => l.event === "source-applied" && l.revision === last);
      expect(await answer("b")).toBe("stable0");
      // b applied only what it listed (the last write), not the 50 one by one.
      expect(b.logs.filter((l) => l.event === "source-applied")).toHaveLength(1);
    } finally {
      client.close();
    }
  });

  it("a host started while etcd is down serves from its state folder and catches up when etcd returns", async () => {
    const b = hosts.get("b")!;
    b.kill("SIGTERM");
    await b.exited;
    await etcd.kill("SIGKILL");
    const again = await startHost("b");
    expect(await answer("b")).toBe("stable0");
    await again.waitForLog("etcd unavailable", (l) => l.event === "source-unavailable");
    await etcd.start();
    await untilMembers(2);
    const r = await cli(["push", "header-canary", "-", "--source", etcd.url(PREFIX), "--wait"], config("canary"));
    expect(r.stdout).toContain("2 of 2 live host(s) applied");
    expect(await answer("b")).toBe("canary0");
    // etcd down and up again, a host start, the host's backoff (up to 5 s) and a CLI: 12 s on an idle machine,
    // past vitest's 30 s at a load average of 15 on 2 cores.
  }, 90_000);
});

// Watch correctness when etcd compacted what a host missed (issue 14): a host cut off from etcd (paused with
// SIGSTOP while etcd restarts) misses five writes, and etcd compacts its history past them; when the host runs
// again its watch cannot resume from its last revision, so it lists the keys again and converges on the last
// write, reporting that revision. A real etcd 3.4 (test/helpers/etcd.ts) and a real `switchyard run --source`.

import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeKey } from "../host/fleet/fleet-view.js";
import { pluginKey, statusPrefix } from "../host/fleet/keys.js";
import { etcdClient, parseSource } from "../host/fleet/source-url.js";
import { startEtcd, stopFleet, untilFleet, type EtcdProcess } from "./helpers/etcd.js";
import { canaryVariant, get, hostConfig, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const PREFIX = "/compaction";
let root: string;
let etcd: EtcdProcess;
let ups: Upstream[];
let host: HostProcess;

const config = (tagValue: string) => JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-fleet-compaction-"));
  etcd = await startEtcd(join(root, "etcd"));
  ups = [await startUpstream("canary0"), await startUpstream("stable0")];
  await canaryVariant(join(root, "plugins", "header-canary"), { version: "1.0.0", tagValue: "canary" });
  const cfg = hostConfig({ hosts: ups.map((u) => ({ address: u.address, tags: { version: u.name.replace(/\d+$/, "") } })), pluginsDir: join(root, "plugins"), stateDir: join(root, "state") });
  await writeFile(join(root, "a.json"), JSON.stringify(cfg));
  host = await spawnHost({ configFile: join(root, "a.json"), args: ["--source", etcd.url(PREFIX, "ttl=120"), "--host-id", "a"] });
}, 120_000);

afterAll(() => stopFleet([host], etcd, ups, root));

async function answer(): Promise<string> {
  const r = await get(`${host.listenerUrl}/`, { "x-canary": "1" });
  return r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : String(r.status);
}

async function write(text: string): Promise<number> {
  const client = etcdClient(parseSource(etcd.url(PREFIX)));
  try {
    return await writeKey(client, pluginKey(PREFIX, "header-canary"), text);
  } finally {
    client.close();
  }
}

const untilApplied = (revision: number) =>
  untilFleet(etcd.url(PREFIX), statusPrefix(PREFIX), (v) => v.statuses.some((s) => s.host === "a" && s.revision >= revision));

describe("a compacted watch revision", () => {
  it("a host that missed writes etcd then compacted lists again and converges on the last one", async () => {
    const first = await write(config("stable"));
    await untilApplied(first);
    expect(await answer()).toBe("stable0");

    // Cut off: the host is paused while etcd restarts, so its watch stream breaks and must be made again.
    host.kill("SIGSTOP");
    try {
      await etcd.kill("SIGKILL");
      await etcd.start();
      let last = 0;
      for (let i = 0; i < 5; i++) last = await write(config(i === 4 ? "canary" : `other-${i}`));
      const client = etcdClient(parseSource(etcd.url(PREFIX)));
      try {
        await client.kv.compact({ revision: String(last), physical: true });
      } finally {
        client.close();
      }
      host.kill("SIGCONT");
      const view = await untilApplied(last);
      const status = view.statuses.find((s) => s.host === "a" && s.plugin === "header-canary")!;
      expect([status.revision, status.state]).toEqual([last, "applied"]);
    } finally {
      host.kill("SIGCONT");
    }
    expect(await answer()).toBe("canary0");
  }, 150_000);
});

// Watch correctness when etcd compacted what a host missed (issue 14): a host cut off from etcd (paused with
// SIGSTOP while etcd restarts, so its watch stream breaks) misses a host-list write and five config writes, and
// etcd compacts its history past them. When the host runs again, both of its watches (plugin keys, cluster keys)
// ask to resume from revisions etcd no longer has; etcd cancels them, and the host must list both prefixes again
// and converge on the last writes, reporting those revisions. Three rounds, each bounded, on one real etcd 3.4
// (test/helpers/etcd.ts) and one real `switchyard run --source`. Before the fix in host/fleet/etcd-source.ts
// the second watch created after a compaction could be left on a dead stream and the host never converged.

import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeKey } from "../host/fleet/fleet-view.js";
import { hostsKey, pluginKey, statusPrefix } from "../host/fleet/keys.js";
import { etcdClient } from "../host/fleet/etcd-client.js";
import { parseSource } from "../host/fleet/source-url.js";
import { startEtcd, stopFleet, untilFleet, type EtcdProcess } from "./helpers/etcd.js";
import { canaryVariant, get, hostConfig, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const PREFIX = "/compaction";
/**
 * How long a round may take from SIGCONT to both statuses. etcd is up by then, so it is one reconnect and two
 * re-lists: 0.2-1.1 s measured at load average 16-32 on 2 cores. With etcd3's default retries (before the fix
 * in host/fleet/source-url.ts) a round whose dropped streams opened etcd3's circuit breaker took 6-9 s or more
 * than 15 s; the bound sits below the breaker's 5 s plus one reconnect.
 */
const CONVERGE_MS = 6_000;
let root: string;
let etcd: EtcdProcess;
let ups: Upstream[];
let host: HostProcess;

const config = (tagValue: string) => JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue });
const hostList = (...u: Upstream[]) => JSON.stringify(u.map((x) => ({ address: x.address, metadata: { version: x.name.replace(/\d+$/, ""), name: x.name } })));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-fleet-compaction-"));
  etcd = await startEtcd(join(root, "etcd"));
  ups = await Promise.all(["canary0", "stable0", "stable1"].map((n) => startUpstream(n)));
  await canaryVariant(join(root, "plugins", "header-canary"), { version: "1.0.0", tagValue: "canary" });
  const cfg = hostConfig({ hosts: ups.slice(0, 2).map((u) => ({ address: u.address, tags: { version: u.name.replace(/\d+$/, "") } })), pluginsDir: join(root, "plugins"), stateDir: join(root, "state") });
  await writeFile(join(root, "a.json"), JSON.stringify(cfg));
  host = await spawnHost({ configFile: join(root, "a.json"), args: ["--source", etcd.url(PREFIX, "ttl=120"), "--host-id", "a"] });
}, 120_000);

afterAll(() => stopFleet([host], etcd, ups, root));

/** The upstream that answers a request the plugin routes by its tag. */
async function answer(): Promise<string> {
  const r = await get(`${host.listenerUrl}/`, { "x-canary": "1" });
  return r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : String(r.status);
}

async function withClient<T>(f: (client: ReturnType<typeof etcdClient>) => Promise<T>): Promise<T> {
  const client = etcdClient(parseSource(etcd.url(PREFIX)));
  try {
    return await f(client);
  } finally {
    client.close();
  }
}

/** Host "a" reported the plugin config at `plugin` and the host list at `hosts` (or later), both applied. */
const untilApplied = (plugin: number, hosts: number, timeoutMs?: number) =>
  untilFleet(
    etcd.url(PREFIX),
    `${PREFIX}/`,
    (v) =>
      v.statuses.some((s) => s.host === "a" && s.revision >= plugin && s.state === "applied") &&
      v.hostLists.some((s) => s.host === "a" && s.cluster === "c" && s.revision >= hosts && s.state === "applied"),
    process.env,
    timeoutMs,
  );

/** The last lines of the host's log that say what its source did, for a failure message. */
const sourceLog = () => JSON.stringify(host.logs.filter((l) => typeof l.event === "string" && String(l.event).startsWith("source-")).slice(-20));

describe("a compacted watch revision", () => {
  it("a host that missed writes etcd then compacted lists both prefixes again and converges, three times in a row", async () => {
    const first = await withClient((c) => writeKey(c, pluginKey(PREFIX, "header-canary"), config("stable")));
    const firstHosts = await withClient((c) => writeKey(c, hostsKey(PREFIX, "c"), hostList(ups[0]!, ups[1]!)));
    await untilApplied(first, firstHosts, CONVERGE_MS);
    expect(await answer()).toBe("stable0");

    for (let round = 1; round <= 3; round++) {
      const stable = ups[1 + (round % 2)]!;
      const tagValue = round % 2 === 1 ? "canary" : "stable";
      let last = 0;
      let hostsRev = 0;
      // Cut off: the host is paused while etcd restarts, so its watch stream breaks and must be made again.
      host.kill("SIGSTOP");
      try {
        await etcd.kill("SIGKILL");
        await etcd.start();
        await withClient(async (c) => {
          hostsRev = await writeKey(c, hostsKey(PREFIX, "c"), hostList(ups[0]!, stable));
          for (let i = 0; i < 5; i++) last = await writeKey(c, pluginKey(PREFIX, "header-canary"), config(i === 4 ? tagValue : `other-${i}`));
          await c.kv.compact({ revision: String(last), physical: true });
        });
      } finally {
        host.kill("SIGCONT");
      }
      const resumed = performance.now();
      const view = await untilApplied(last, hostsRev, CONVERGE_MS).catch((err: Error) => {
        throw new Error(`round ${round}: ${err.message}\nhost source log: ${sourceLog()}`);
      });
      console.log(`fleet compaction: round ${round} converged ${Math.round(performance.now() - resumed)} ms after SIGCONT`);
      const status = view.statuses.find((s) => s.host === "a" && s.plugin === "header-canary")!;
      const hosts = view.hostLists.find((s) => s.host === "a" && s.cluster === "c")!;
      expect([round, status.revision, status.state, hosts.revision, hosts.state]).toEqual([round, last, "applied", hostsRev, "applied"]);
      expect([round, await answer()]).toEqual([round, tagValue === "canary" ? "canary0" : stable.name]);
      // Both watches were cancelled by etcd and listed again at least once in this round.
      expect(host.logs.filter((l) => l.event === "source-relist").length).toBeGreaterThanOrEqual(2 * round);
    }
  }, 60_000);
});

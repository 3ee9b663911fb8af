// Fleet propagation (issue 14's target: "one etcd write reaches 10 Switchyard processes on this machine, each
// with its own state folder, with p99 propagation ≤ 1 s, measured from the write's response to each host's
// applied status"). A real etcd (Debian etcd-server) and FLEET_HOSTS real `switchyard run --source` processes,
// each with its own plugins and state folder; FLEET_WRITES writes of header-canary's config, one after the other,
// each timed from writeKey's answer to the put of every host's lease-bound status key for that revision (seen by
// a watch). Bounded: FLEET_HOSTS ≤ 20, FLEET_WRITES ≤ 100, each write's wait ≤ 30 s. On this 2-core machine the
// hosts share the cores with etcd and the bench; the figure includes that load.
//
//   node dist/bench/run.js fleet          (after make build)

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeKey } from "../host/fleet/fleet-view.js";
import { pluginKey, statusPrefix, type PluginStatus } from "../host/fleet/keys.js";
import { etcdClient } from "../host/fleet/etcd-client.js";
import { parseSource } from "../host/fleet/source-url.js";
import { startEtcd, untilFleet } from "../test/helpers/etcd.js";
import { canaryVariant, hostConfig, spawnHost, type HostProcess } from "../test/helpers/host-process.js";
import { table } from "./stats.js";

export interface FleetResult {
  readonly hosts: number;
  readonly writes: number;
  readonly samplesMs: readonly number[];
}

const PREFIX = "/bench-fleet";

export async function benchFleet(): Promise<FleetResult> {
  const n = Math.min(20, Math.max(1, Number(process.env.FLEET_HOSTS ?? 10)));
  const writes = Math.min(100, Math.max(1, Number(process.env.FLEET_WRITES ?? 20)));
  const root = await mkdtemp(join(tmpdir(), "switchyard-bench-fleet-"));
  const etcd = await startEtcd(join(root, "etcd"));
  const hosts: HostProcess[] = [];
  const client = etcdClient(parseSource(etcd.url(PREFIX)));
  try {
    for (let i = 0; i < n; i++) {
      const dir = join(root, `h${i}`);
      await canaryVariant(join(dir, "plugins", "header-canary"), { version: "1.0.0", tagValue: "canary" });
      const file = join(dir, "config.json");
      await writeFile(file, JSON.stringify(hostConfig({ hosts: [{ address: "127.0.0.1:9", tags: {} }], pluginsDir: join(dir, "plugins"), stateDir: join(dir, "state") })));
      hosts.push(await spawnHost({ configFile: file, args: ["--source", etcd.url(PREFIX), "--host-id", `h${i}`] }));
    }
    await untilFleet(etcd.url(PREFIX), `${PREFIX}/members/`, (v) => v.members.length >= n);
    const samplesMs: number[] = [];
    const seen = new Map<string, number>();
    const arrivals = new Map<string, number>();
    let wake: (() => void) | null = null;
    const w = await client.watch().prefix(statusPrefix(PREFIX)).create();
    w.on("put", (kv) => {
      const s = JSON.parse(kv.value.toString()) as PluginStatus;
      if (s.state === "applied") seen.set(s.host, Math.max(seen.get(s.host) ?? 0, s.revision));
      arrivals.set(`${s.host}@${s.revision}`, performance.now());
      wake?.();
    });
    for (let i = 0; i < writes; i++) {
      const text = JSON.stringify({ header: "x-canary", values: ["1", `w${i}`], tag: "version", tagValue: "canary" });
      const rev = await writeKey(client, pluginKey(PREFIX, "header-canary"), text);
      const t0 = performance.now();
      const deadline = t0 + 30_000;
      while ([...Array(n).keys()].some((h) => (seen.get(`h${h}`) ?? 0) < rev) && performance.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 1000).unref();
        });
      }
      for (let h = 0; h < n; h++) {
        const at = arrivals.get(`h${h}@${rev}`);
        samplesMs.push(at === undefined ? Number.POSITIVE_INFINITY : Math.max(0, at - t0));
      }
    }
    await w.cancel();
    return { hosts: n, writes, samplesMs };
  } finally {
    client.close();
    for (const h of hosts) {
      h.kill("SIGTERM");
      await h.exited;
    }
    await etcd.kill("SIGTERM");
    await rm(root, { recursive: true, force: true });
  }
}

export function formatFleet(r: FleetResult): string {
  const sorted = [...r.samplesMs].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "not applied in 30 s");
  return table(["hosts", "writes", "samples", "p50 ms", "p99 ms", "max ms"], [[String(r.hosts), String(r.writes), String(sorted.length), ms(q(50)), ms(q(99)), ms(sorted[sorted.length - 1]!)]]);
}

// DNS discovery against a real dnsmasq on loopback (test/helpers/dnsmasq.ts): a STRICT_DNS cluster follows the
// A records of its names (every address a host on the configured port, tags from the config), an SRV cluster
// its SRV records (target, port, weight), a failed lookup keeps the last good list, and a host that leaves is
// closed. A real host (SwitchyardHost) in this process with a ManualClock: lookups run when the test moves it.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DnsOutcome } from "../host/cluster/dns-discovery.js";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { freePort } from "./helpers/etcd.js";
import { startDnsmasq, type Dnsmasq } from "./helpers/dnsmasq.js";
import { get, hostConfig } from "./helpers/host-process.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { memoryLog } from "./helpers/memory-log.js";
import { startUpstream, waitFor, type Upstream } from "./helpers/upstreams.js";

const REFRESH_MS = 5_000;
let root: string;
let dns: Dnsmasq;
let port: number;
/** u2, u3, u4 on 127.0.0.2-4 and one port (STRICT_DNS); s1, s2 on 127.0.0.1 and ports of their own (SRV). */
let ups: Upstream[];
let srv: Upstream[];
let host: SwitchyardHost;
let url: string;
const clock = new ManualClock();
const lines: Record<string, unknown>[] = [];

/** Moves the clock past the refresh interval and resolves with what the lookups of `cluster` found. */
function refreshed(cluster: string): Promise<DnsOutcome> {
  const done = new Promise<DnsOutcome>((resolve) => {
    const on = (o: DnsOutcome) => {
      if (o.cluster !== cluster) return;
      host.events.off("dns-refresh", on);
      resolve(o);
    };
    host.events.on("dns-refresh", on);
  });
  clock.advance(REFRESH_MS);
  return done;
}

const hostsOf = (cluster: string) => host.clusters.snapshot(cluster).hosts.map((h) => ({ address: h.address, hostname: h.hostname, weight: h.weight, tags: h.tags }));

async function answering(path: string, n = 8): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await get(`${url}${path}`);
    seen.add(r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : String(r.status));
  }
  return [...seen].sort();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-dns-"));
  port = await freePort();
  ups = await Promise.all([2, 3, 4].map((i) => startUpstream(`u${i}`, {}, { host: `127.0.0.${i}`, port })));
  srv = await Promise.all(["s1", "s2"].map((n) => startUpstream(n)));
  dns = await startDnsmasq(root, "127.0.0.2 api.test\n127.0.0.3 api.test\n127.0.0.1 t1.test\n127.0.0.1 t2.test\n", [
    `_http._tcp.svc.test,t1.test,${srv[0]!.port},0,5`,
    `_http._tcp.svc.test,t2.test,${srv[1]!.port},0,1`,
  ]);
  const cfg = hostConfig({ hosts: [] }) as { servers: { routers: { virtual_hosts: { routers: object[] }[] }[] }[]; cluster_manager: { clusters: object[] } };
  cfg.servers[0]!.routers[0]!.virtual_hosts[0]!.routers.unshift({ match: { prefix: "/s" }, route: { cluster_name: "s", timeout: "10s" } });
  const resolvers = { servers: [dns.server] };
  cfg.cluster_manager.clusters = [
    { name: "c", type: "STRICT_DNS", lb_type: "LB_ROUNDROBIN", dns_refresh_rate: "5s", dns_resolvers: resolvers, hosts: [{ address: `api.test:${port}`, weight: 3, metadata: { version: "v1" } }] },
    { name: "s", type: "DNS_SRV", lb_type: "LB_ROUNDROBIN", dns_refresh_rate: "5s", dns_resolvers: resolvers, hosts: [{ address: "_http._tcp.svc.test", metadata: { zone: "a" } }] },
  ];
  const { config } = parseConfig(JSON.stringify(cfg), join(root, "dns.json"));
  host = new SwitchyardHost({ config, logger: pino({ level: "info" }, memoryLog(lines)), admin: false, watch: false, clock, stateDir: join(root, "state") });
  await host.start();
  url = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await dns?.kill();
  await Promise.all([...(ups ?? []), ...(srv ?? [])].map((u) => u.close()));
  await rm(root, { recursive: true, force: true });
});

describe("STRICT_DNS and DNS_SRV clusters", () => {
  it("resolve before the host serves: every A record a host on the configured port, tags and weight from the config", async () => {
    expect(hostsOf("c")).toEqual([
      { address: `127.0.0.2:${port}`, hostname: "api.test", weight: 3, tags: { version: "v1" } },
      { address: `127.0.0.3:${port}`, hostname: "api.test", weight: 3, tags: { version: "v1" } },
    ]);
    expect(await answering("/")).toEqual(["u2", "u3"]);
  });

  it("an SRV cluster has a host per record: target resolved, the record's port and weight, the config's tags", async () => {
    expect(hostsOf("s")).toEqual([
      { address: srv[0]!.address, hostname: "t1.test", weight: 5, tags: { zone: "a" } },
      { address: srv[1]!.address, hostname: "t2.test", weight: 1, tags: { zone: "a" } },
    ]);
    expect(await answering("/s")).toEqual(["s1", "s2"]);
  });

  it("re-resolves on the interval: a new address is added, one that went is closed and gets no request", async () => {
    await dns.setHosts("127.0.0.3 api.test\n127.0.0.4 api.test\n127.0.0.1 t1.test\n127.0.0.1 t2.test\n");
    const before = ups[0]!.requests.length;
    // Nothing changes until the interval has passed.
    expect(hostsOf("c").map((h) => h.address)).toEqual([`127.0.0.2:${port}`, `127.0.0.3:${port}`]);
    const o = await refreshed("c");
    expect(o).toEqual({ cluster: "c", failed: [], hosts: 2 });
    expect(hostsOf("c").map((h) => h.address)).toEqual([`127.0.0.3:${port}`, `127.0.0.4:${port}`]);
    await waitFor("u2's connections closed", () => ups[0]!.openConnections === 0, 10_000);
    expect(await answering("/")).toEqual(["u3", "u4"]);
    expect(ups[0]!.requests.length).toBe(before);
    // The same records again: the same list, its version kept.
    const version = host.hostsVersion("c");
    await refreshed("c");
    expect(host.hostsVersion("c")).toBe(version);
  });

  it("a failed lookup keeps the last good list, and the next good one is applied", async () => {
    await dns.kill();
    const o = await refreshed("c");
    expect(o.failed).toHaveLength(1);
    expect(o.failed[0]!.name).toBe("api.test");
    expect(hostsOf("c").map((h) => h.address)).toEqual([`127.0.0.3:${port}`, `127.0.0.4:${port}`]);
    expect(hostsOf("s")).toHaveLength(2);
    expect(await answering("/")).toEqual(["u3", "u4"]);
    expect(lines.some((l) => l.event === "dns-failed" && l.cluster === "c" && l.name === "api.test")).toBe(true);
    await dns.start();
    await dns.setHosts("127.0.0.2 api.test\n127.0.0.1 t1.test\n127.0.0.1 t2.test\n");
    const back = await refreshed("c");
    expect(back.failed).toEqual([]);
    expect(hostsOf("c").map((h) => h.address)).toEqual([`127.0.0.2:${port}`]);
    expect(await answering("/")).toEqual(["u2"]);
  });
});

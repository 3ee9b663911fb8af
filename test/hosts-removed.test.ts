// A host that leaves a cluster is closed (issue 14): its requests in flight finish, its pool then closes (the
// upstream sees its connections closed), and no request goes to it afterwards, not even a retry of a request
// that took its snapshot before the removal. A real host (SwitchyardHost) in this process, real upstreams.

import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { get, hostConfig } from "./helpers/host-process.js";
import { startUpstream, waitFor, type Upstream } from "./helpers/upstreams.js";

let ups: Upstream[];
let host: SwitchyardHost;
let url: string;

const SLOW = { delayMs: 400 };
const hostsOf = (...u: Upstream[]) => u.map((x) => ({ address: x.address, tags: { name: x.name } }));
const name = (body: string) => (JSON.parse(body) as { upstream: string }).upstream;

/** Cluster c = [u0, u1] on "/", cluster d = [u0] on "/d", retries on 503 once. */
async function startHost(): Promise<void> {
  const cfg = hostConfig({ hosts: hostsOf(ups[0]!, ups[1]!) }) as {
    servers: { routers: { virtual_hosts: { routers: object[] }[] }[] }[];
    cluster_manager: { clusters: object[] };
  };
  const routes = cfg.servers[0]!.routers[0]!.virtual_hosts[0]!.routers as { route: Record<string, unknown> }[];
  routes[0]!.route.retry_policy = { retry_on: true, num_retries: 1, retry_on_statuses: [503] };
  routes.unshift({ match: { prefix: "/d" }, route: { cluster_name: "d", timeout: "10s" } } as never);
  cfg.cluster_manager.clusters.push({ name: "d", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: ups[0]!.address }] });
  const { config } = parseConfig(JSON.stringify(cfg), "removed.json");
  host = new SwitchyardHost({ config, logger: pino({ level: "silent" }), admin: false, watch: false });
  await host.start();
  url = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
}

beforeEach(async () => {
  ups = await Promise.all(["u0", "u1"].map((n) => startUpstream(n)));
  await startHost();
});

afterEach(async () => {
  await host.stop();
  await Promise.all(ups.map((u) => u.close()));
});

describe("a host removed from its cluster", () => {
  it("finishes its requests in flight, then its pool closes and no request goes to it", async () => {
    const [u0, u1] = ups as [Upstream, Upstream];
    u0.behaviour = SLOW;
    u1.behaviour = SLOW;
    // Four slow requests in flight: round robin puts two on each host.
    const inFlight = Array.from({ length: 4 }, () => get(`${url}/slow`));
    await waitFor("two requests in flight on u0", () => u0.requests.length === 2, 10_000);
    // u0 leaves cluster c (it stays in d, which is not asked here: its pool is shared by address).
    await host.clusterAdmin().replaceHosts("d", hostsOf(u1));
    await host.clusterAdmin().replaceHosts("c", hostsOf(u1));
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => [a.status, name(a.body)]).sort()).toEqual([[200, "u0"], [200, "u0"], [200, "u1"], [200, "u1"]]);
    expect(u0.requests.every((r) => r.completed && !r.aborted)).toBe(true);
    await waitFor("u0's connections closed", () => u0.openConnections === 0, 10_000);
    expect(host.pools.has(u0.address)).toBe(false);
    u1.behaviour = {};
    const after = await Promise.all(Array.from({ length: 20 }, () => get(`${url}/`)));
    expect(after.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(u0.requests).toHaveLength(2);
  });

  it("a retry of a request that took its snapshot before the removal does not go to the removed host", async () => {
    ups[0]!.behaviour = { ...SLOW, status: 503 };
    ups[1]!.behaviour = { ...SLOW, status: 503 };
    const answer = get(`${url}/retry`);
    await waitFor("the first attempt on a host", () => ups[0]!.requests.length + ups[1]!.requests.length === 1, 10_000);
    const [first, other] = (ups[0]!.requests.length === 1 ? ups : [ups[1]!, ups[0]!]) as [Upstream, Upstream];
    await host.clusterAdmin().replaceHosts("c", hostsOf(first));
    // The only host left answered 503, which goes to the client: the removed host was never asked.
    expect((await answer).status).toBe(503);
    expect(first.requests).toHaveLength(1);
    expect(other.requests).toHaveLength(0);
  });

  it("keeps the pool of an address that another cluster still has", async () => {
    const [u0, u1] = ups as [Upstream, Upstream];
    expect((await get(`${url}/d`)).status).toBe(200);
    const accepted = u0.connections;
    await host.clusterAdmin().replaceHosts("c", hostsOf(u1));
    expect(host.pools.has(u0.address)).toBe(true);
    for (let i = 0; i < 5; i++) expect(name((await get(`${url}/d`)).body)).toBe("u0");
    // The keep-alive connection of d's requests was kept: no new connection to u0.
    expect(u0.connections).toBe(accepted);
    expect(u0.openConnections).toBe(1);
  });
});

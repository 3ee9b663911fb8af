import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { HostStatus } from "../host/cluster/types.js";
import { PoolOptionsError, PoolsClosedError } from "../host/proxy/errors.js";
import { PoolRegistry } from "../host/proxy/pools.js";
import { TEST_UPSTREAM_CLIENT } from "./helpers/codec.js";
import { TestHost } from "./helpers/hosts.js";
import { refusingAddress, startUpstreams, type Upstreams, waitFor } from "./helpers/upstreams.js";

let ups: Upstreams | undefined;
let pools: PoolRegistry | undefined;

afterEach(async () => {
  await pools?.close();
  await ups?.close();
  pools = undefined;
  ups = undefined;
});

describe("PoolRegistry", () => {
  it("creates one pool per address, lazily", async () => {
    ups = await startUpstreams(2);
    pools = new PoolRegistry({ client: TEST_UPSTREAM_CLIENT });
    expect(pools.size).toBe(0);
    const a = new TestHost(ups.addresses[0]!);
    const a2 = new TestHost(ups.addresses[0]!); // the same address in another cluster
    const b = new TestHost(ups.addresses[1]!);
    const pa = pools.get(a);
    expect(pools.get(a2)).toBe(pa);
    expect(pools.get(b)).not.toBe(pa);
    expect(pools.size).toBe(2);
    const r = await request(`${ups.list[0]!.url}/x`, { dispatcher: pa });
    expect(JSON.parse(await r.body.text()).upstream).toBe("up0");
    // Both hosts at that address follow its connection status.
    expect(a.statuses).toContain(HostStatus.Available);
    expect(a2.statuses).toContain(HostStatus.Available);
  });

  it("marks a host Unavailable when connecting fails", async () => {
    pools = new PoolRegistry({ client: TEST_UPSTREAM_CLIENT, connectTimeoutMs: 500 });
    const dead = new TestHost(await refusingAddress());
    const p = pools.get(dead);
    await expect(request(`http://${dead.address}/`, { dispatcher: p })).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(dead.statuses).toEqual([HostStatus.Unavailable]);
  });

  it("release lets requests in flight finish, then closes", async () => {
    ups = await startUpstreams(1, { delayMs: 200 });
    pools = new PoolRegistry({ client: TEST_UPSTREAM_CLIENT });
    const host = new TestHost(ups.addresses[0]!);
    const p = pools.get(host);
    const inFlight = request(`${ups.list[0]!.url}/slow`, { dispatcher: p });
    await waitFor("request at upstream", () => ups!.list[0]!.requests.length === 1);
    const released = pools.release(host.address);
    expect(pools.has(host.address)).toBe(false);
    const r = await inFlight;
    expect(r.statusCode).toBe(200);
    await r.body.text();
    await released;
    expect(p.closed).toBe(true);
    // A host coming back gets a fresh pool.
    expect(pools.get(host)).not.toBe(p);
  });

  it("release destroys a pool whose requests outlive the grace period", async () => {
    ups = await startUpstreams(1, { delayMs: 5_000 });
    pools = new PoolRegistry({ client: TEST_UPSTREAM_CLIENT, closeGraceMs: 100 });
    const host = new TestHost(ups.addresses[0]!);
    const p = pools.get(host);
    const inFlight = request(`${ups.list[0]!.url}/stuck`, { dispatcher: p }).then(
      () => "answered",
      (err: { code?: string }) => err.code,
    );
    await waitFor("request at upstream", () => ups!.list[0]!.requests.length === 1);
    const t0 = performance.now();
    await pools.release(host.address);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(await inFlight).toBe("UND_ERR_DESTROYED");
    expect(p.destroyed).toBe(true);
  });

  it("refuses to create pools once closed", async () => {
    pools = new PoolRegistry({ client: TEST_UPSTREAM_CLIENT });
    await pools.close();
    expect(() => pools!.get(new TestHost("127.0.0.1:1"))).toThrow(PoolsClosedError);
  });

  it("refuses bad options, naming them", () => {
    expect(() => new PoolRegistry({ connections: 0 })).toThrow(/^pools\.connections: must be a finite number > 0/);
    expect(() => new PoolRegistry({ connections: 2.5 })).toThrow(PoolOptionsError);
    expect(() => new PoolRegistry({ connectTimeoutMs: Number.POSITIVE_INFINITY })).toThrow(/pools\.connectTimeoutMs/);
    expect(() => new PoolRegistry({ client: "curl" as "undici" })).toThrow(/^pools\.client: must be "undici" or "llhttp", got "curl"/);
  });
});

// Active health checks in a whole host under traffic: real upstreams go down and come back while clients
// keep sending; the checks (driven by a ManualClock the host is given, so nothing waits for an interval)
// mark a host within interval × unhealthy_threshold, and no request that started after the mark reaches it.

import { once } from "node:events";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ProbeResult } from "../host/cluster/health-check.js";
import type { Host } from "../host/cluster/types.js";
import { send } from "./helpers/front.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

const INTERVAL = 10_000;
const JITTER = 2_000;
/** interval + random() × interval_jitter with the host's random() = 0.5. */
const EVERY = INTERVAL + JITTER / 2;

let sy: RunningSwitchyard | null = null;
let ups: Upstreams | null = null;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await sy?.close();
  sy = null;
  await ups?.close();
  ups = null;
});

/** Clients sending GET /t?seq=N, `loops` at a time, until stopped (at most 3,000 requests, 30 s). */
function traffic(url: string, loops: number) {
  let seq = 0;
  let stopped = false;
  const done: { seq: number; status: number }[] = [];
  let waiters: { seq: number; resolve: () => void }[] = [];
  const deadline = Date.now() + 30_000;
  const loop = async () => {
    while (!stopped && seq < 3000 && Date.now() < deadline) {
      const n = ++seq;
      const r = await send(url, { path: `/t?seq=${n}` });
      done.push({ seq: n, status: r.status });
      waiters = waiters.filter((w) => (done.length >= w.seq ? (w.resolve(), false) : true));
    }
  };
  const running = Promise.all(Array.from({ length: loops }, loop));
  return {
    /** The highest sequence number started so far. */
    started: () => seq,
    done,
    /** Resolves once `count` more requests have finished. */
    more: (count: number) => new Promise<void>((resolve) => waiters.push({ seq: done.length + count, resolve })),
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

function seqOf(url: string): number {
  return Number(new URL(url, "http://x").searchParams.get("seq") ?? 0);
}

/**
 * Four clients sending to `s`, and its health events: `step()` moves the clock to the next round of checks
 * (both hosts, in step) and waits for both; `changes` lists each change with the clock time and the last
 * sequence number started when it happened.
 */
function underTraffic(s: RunningSwitchyard, clock: ManualClock) {
  let checks = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  const load = traffic(s.url, 4);
  cleanups.push(() => load.stop());
  const changes: { host: string; healthy: boolean; at: number; seq: number }[] = [];
  s.host.events.on("health-changed", (_c: string, h: Host, healthy: boolean) => changes.push({ host: h.address, healthy, at: clock.now(), seq: load.started() }));
  s.host.events.on("health-check", (_c: string, _h: Host, _r: ProbeResult) => {
    checks++;
    waiters = waiters.filter((w) => (checks >= w.n ? (w.resolve(), false) : true));
  });
  const step = async () => {
    const done = new Promise<void>((resolve) => waiters.push({ n: checks + 2, resolve }));
    clock.advance(EVERY);
    await done;
  };
  return { ev: { changes }, load, step };
}

async function metric(s: RunningSwitchyard, line: RegExp): Promise<number | null> {
  const { body } = await s.host.metrics.scrape();
  for (const l of body.split("\n")) {
    const m = line.exec(l);
    if (m !== null) return Number(l.slice(l.lastIndexOf(" ") + 1));
  }
  return null;
}

describe("active health checks under traffic (cluster health_check)", () => {
  it("HTTP check: a host whose /healthz fails is out within interval × unhealthy_threshold, gets no request started after its mark, and comes back", async () => {
    ups = await startUpstreams(2);
    const health = [200, 200];
    for (const [i, u] of ups.list.entries()) u.behaviour = (req) => (req.url === "/healthz" ? { status: health[i]! } : {});
    const clock = new ManualClock(0);
    const config = mosnConfig({
      clusters: [{
        name: "c", hosts: ups.addresses, extra: {
          health_check: { protocol: "Http1", timeout: "1s", interval: "10s", interval_jitter: "2s", unhealthy_threshold: 2, healthy_threshold: 2, check_config: { http_check_config: { path: "/healthz" } } },
        },
      }],
      virtualHosts: [anyHost([
        { match: { prefix: "/echo" }, route: { cluster_name: "c", switchyard: { plugins: ["echo"] } } },
        { match: { prefix: "/" }, route: { cluster_name: "c", switchyard: { plugins: [] } } },
      ])],
    });
    sy = await startSwitchyard({ config, clock, random: () => 0.5, plugins: ["test/fixtures/echo/bundle"] });
    const { ev, load, step } = underTraffic(sy, clock);
    const trafficTo = (i: number, after: number) => ups!.list[i]!.requests.filter((r) => r.url.startsWith("/t?") && seqOf(r.url) > after).length;

    await load.more(40);
    await step();
    expect(trafficTo(1, 0)).toBeGreaterThan(0);

    health[1] = 503;
    const downAt = clock.now();
    await step();
    expect(ev.changes).toEqual([]);
    await step();
    expect(ev.changes).toEqual([{ host: ups.addresses[1], healthy: false, at: downAt + 2 * EVERY, seq: expect.any(Number) }]);
    expect(ev.changes[0]!.at - downAt).toBeLessThanOrEqual((INTERVAL + JITTER) * 2);
    const marked = ev.changes[0]!.seq;

    // Plugins see it: the echo fixture dumps the host table it was given.
    const echo = await send(sy.url, { path: "/echo", headers: { "x-echo-hosts": "0:2" } });
    expect((JSON.parse(echo.body.toString()) as { hosts: { address: string; healthy: boolean }[] }).hosts.map((h) => [h.address, h.healthy])).toEqual([[ups.addresses[0], true], [ups.addresses[1], false]]);

    await load.more(200);
    expect(trafficTo(1, marked)).toBe(0);
    expect(trafficTo(0, marked)).toBeGreaterThanOrEqual(200 - 4);
    expect(load.done.every((d) => d.status === 200)).toBe(true);

    health[1] = 200;
    const upAt = clock.now();
    await step();
    expect(ev.changes).toHaveLength(1);
    await step();
    expect(ev.changes[1]).toMatchObject({ host: ups.addresses[1], healthy: true, at: upAt + 2 * EVERY });
    const back = ev.changes[1]!.seq;
    await load.more(100);
    expect(trafficTo(1, back)).toBeGreaterThan(30);

    await load.stop();
    expect(load.done.every((d) => d.status === 200)).toBe(true);
    // 5 rounds of 2 checks; up1 failed two of them.
    expect(await metric(sy, /^switchyard_health_checks_total\{cluster="c",result="failed"\}/)).toBe(2);
    expect(await metric(sy, /^switchyard_health_checks_total\{cluster="c",result="passed"\}/)).toBe(8);
    const address = ups.addresses[1]!.replace(/[.]/g, "\\.");
    expect(await metric(sy, new RegExp(`^switchyard_health_transitions_total\\{cluster="c",host="${address}",to="unhealthy"\\}`))).toBe(1);
    expect(await metric(sy, new RegExp(`^switchyard_health_transitions_total\\{cluster="c",host="${address}",to="healthy"\\}`))).toBe(1);
    const logged = sy.logs.filter((l) => l.component === "health").map((l) => [l.event, l.host, l.level]);
    expect(logged).toEqual([["health-failed", ups.addresses[1], 40], ["health-passed", ups.addresses[1], 30]]);
  });

  it("TCP check: a host that stops listening is out, no request started after the mark tries it, and it is back once it listens again", async () => {
    ups = await startUpstreams(1);
    // The second upstream is a server this test closes and opens again on the same port.
    const seen: number[] = [];
    const sockets = new Set<Socket>();
    const flaky = http.createServer((req, res) => {
      seen.push(seqOf(req.url ?? "/"));
      res.end("flaky");
    });
    flaky.on("connection", (s: Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    flaky.listen(0, "127.0.0.1");
    await once(flaky, "listening");
    const port = (flaky.address() as AddressInfo).port;
    const down = async () => {
      const closed = new Promise<void>((resolve) => flaky.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    };
    cleanups.push(async () => {
      if (flaky.listening) await down();
    });
    const address = `127.0.0.1:${port}`;
    const clock = new ManualClock(0);
    const config = mosnConfig({
      clusters: [{ name: "c", hosts: [ups.addresses[0]!, address], extra: { health_check: { interval: "10s", interval_jitter: "2s", unhealthy_threshold: 3, healthy_threshold: 1 } } }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", retry_policy: { retry_on: true, num_retries: 1 } } }])],
    });
    sy = await startSwitchyard({ config, clock, random: () => 0.5 });
    const { ev, load, step } = underTraffic(sy, clock);

    await load.more(40);
    expect(seen.length).toBeGreaterThan(0);
    await down();
    const downAt = clock.now();
    for (let i = 0; i < 3; i++) await step();
    expect(ev.changes).toEqual([{ host: address, healthy: false, at: downAt + 3 * EVERY, seq: expect.any(Number) }]);
    const marked = ev.changes[0]!.seq;
    await load.more(200);
    // Every request started after the mark went to the live host at its first attempt.
    const after = sy.accessLog().filter((l) => seqOf(String(l.path)) > marked);
    expect(after.length).toBeGreaterThanOrEqual(200 - 4);
    expect(after.every((l) => l.attempts === 1 && l.upstream === ups!.addresses[0] && l.status === 200)).toBe(true);

    flaky.listen(port, "127.0.0.1");
    await once(flaky, "listening");
    await step();
    expect(ev.changes[1]).toMatchObject({ host: address, healthy: true });
    const back = ev.changes[1]!.seq;
    await load.more(100);
    await load.stop();
    expect(seen.filter((s) => s > back).length).toBeGreaterThan(30);
    // Retries on the live host answered every request while the other one was going down.
    expect(load.done.every((d) => d.status === 200)).toBe(true);
  });
});

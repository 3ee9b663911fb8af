// Issue 14's target "100 hosts' membership changes while traffic flows": a real host (SwitchyardHost) in this
// process, 100 real upstreams on 127.0.0.1, 8 clients sending without pause while the cluster's list moves in
// batches (5 out, 5 in, 16 times, through PUT /clusters/<name>/hosts' code). Every request must succeed, and a
// removed host must receive no request beyond those already dispatched to it when its removal was applied
// (its `pending` at that moment). Bounded: at most 20,000 requests and the batches' own count.

import pino from "pino";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Host } from "../host/cluster/types.js";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { hostConfig } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const ACTIVE = 20;
const BATCH = 5;
const BATCHES = 16; // 20 + 16 × 5 = 100 hosts, each used once
let ups: Upstream[];
let host: SwitchyardHost;
let url: string;

beforeAll(async () => {
  ups = await Promise.all(Array.from({ length: ACTIVE + BATCH * BATCHES }, (_, i) => startUpstream(`u${i}`)));
  const { config } = parseConfig(JSON.stringify(hostConfig({ hosts: ups.slice(0, ACTIVE).map((u) => ({ address: u.address, tags: {} })) })), "churn.json");
  host = new SwitchyardHost({ config, logger: pino({ level: "silent" }), admin: false, watch: false });
  await host.start();
  url = `http://127.0.0.1:${host.servers[0]!.address!.port}/`;
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await Promise.all((ups ?? []).map((u) => u.close()));
});

describe("membership churn under traffic", () => {
  it("100 hosts moving in and out in batches: 0 failed requests, 0 requests to a host after its removal", async () => {
    const byAddress = new Map(ups.map((u) => [u.address, u]));
    // At the swap: how many requests each removed host had received or had on their way to it.
    const allowed = new Map<string, number>();
    host.clusters.get("c")!.onRemoved((hosts: readonly Host[]) => {
      // Arrived so far, plus dispatched and not arrived yet (pending, less those arrived and still running).
      for (const h of hosts) {
        const seen = byAddress.get(h.address)!.requests;
        allowed.set(h.address, seen.length + h.pending - seen.filter((r) => !r.completed).length);
      }
    });
    const agent = new Agent({ connections: 8 });
    const failed: string[] = [];
    let done = 0;
    let stop = false;
    let wake: (() => void) | null = null;
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop && done < 20_000) {
        const r = await request(url, { dispatcher: agent }).catch((e: Error) => ({ statusCode: 0, body: null, e }));
        if (r.body !== null) await r.body.text();
        if (r.statusCode !== 200) failed.push(String(r.statusCode));
        done++;
        wake?.();
      }
    });
    /** Resolves once `n` more requests have been answered. */
    const answered = (n: number) => {
      const until = done + n;
      return new Promise<void>((resolve) => {
        wake = () => {
          if (done >= until || stop) resolve();
        };
      });
    };
    const started = performance.now();
    let active = ups.slice(0, ACTIVE);
    for (let b = 0; b < BATCHES; b++) {
      await answered(50);
      const added = ups.slice(ACTIVE + b * BATCH, ACTIVE + (b + 1) * BATCH);
      active = [...active.slice(BATCH), ...added];
      await host.clusterAdmin().replaceHosts("c", active.map((u) => ({ address: u.address })));
    }
    await answered(200);
    stop = true;
    await Promise.all(clients);
    await agent.close();
    const seconds = (performance.now() - started) / 1000;
    console.log(`membership churn: ${done} requests in ${seconds.toFixed(1)} s, ${BATCHES} batches of ${BATCH} out / ${BATCH} in over ${ups.length} hosts, ${failed.length} failed, ${allowed.size} hosts removed`);

    expect(failed).toEqual([]);
    expect(allowed.size).toBe(BATCH * BATCHES);
    const late = [...allowed].filter(([address, n]) => byAddress.get(address)!.requests.length > n).map(([address]) => address);
    expect(late).toEqual([]);
    // Every host that was in the list at some point got traffic; the removed ones' pools are gone.
    expect(ups.filter((u) => u.requests.length === 0).map((u) => u.name)).toEqual([]);
    for (const address of allowed.keys()) expect(host.pools.has(address)).toBe(false);
  });
});

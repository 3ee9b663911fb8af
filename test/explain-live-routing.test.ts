// POST /explain on a running host reads the routing its listener routes with (host/server/routing.ts, the
// pipeline's own) and picks with a balancer of the cluster's policy that has no state of its own
// (Cluster.dryRunBalancer): explaining moves nothing the next request finds, round-robin cursors included.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import type { Explanation } from "../host/explain/explain.js";
import { SwitchyardHost } from "../host/server/host.js";
import { get } from "./helpers/host-process.js";
import { anyHost, mosnConfig } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

const TOKEN = "explain-live-token";

describe("POST /explain against the live routing", () => {
  let ups: Upstreams;
  let host: SwitchyardHost;
  let root: string;
  let admin: string;
  let proxy: string;

  beforeAll(async () => {
    ups = await startUpstreams(2);
    root = await mkdtemp(join(tmpdir(), "switchyard-explain-live-"));
    const doc = {
      ...mosnConfig({
        clusters: [{ name: "rr", hosts: ups.addresses }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "rr" } }])],
      }),
      admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
    };
    const { config } = parseConfig(JSON.stringify(doc), join(root, "c.json"));
    host = new SwitchyardHost({ config, stateDir: join(root, "state"), logger: pino({ level: "silent" }), watch: false, env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
    await host.start();
    admin = `http://127.0.0.1:${host.adminAddress!.port}`;
    proxy = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
  });

  afterAll(async () => {
    await host?.stop();
    await ups?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const explainOnce = async (): Promise<Explanation> => {
    const r = await fetch(`${admin}/explain`, { method: "POST", body: JSON.stringify({ path: "/x" }), headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    return (await r.json()) as Explanation;
  };

  it("explains between requests without moving the round-robin cursor they share", async () => {
    const served: string[] = [];
    for (let i = 0; i < 6; i++) {
      // Three explains before each request: with the live balancer each would move its cursor one host on.
      for (let k = 0; k < 3; k++) {
        const e = await explainOnce();
        expect(e.route).not.toBeNull();
        expect(e.cluster).toBe("rr");
        expect(ups.addresses).toContain(e.pick);
      }
      const r = await get(`${proxy}/x`);
      expect(r.status).toBe(200);
      served.push((JSON.parse(r.body) as { upstream: string }).upstream);
    }
    // Round robin over two hosts, as if no explain had run: each host in turn.
    expect(served.every((u, i) => i === 0 || u !== served[i - 1])).toBe(true);
    expect(new Set(served).size).toBe(2);
  });
});

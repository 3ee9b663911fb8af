// A 50,000-host list PUT while requests flow (issue 18 item 9): the host list is validated and built aside
// in slices that yield to the event loop (host/cluster/host-spec.ts, Cluster.updateInSlices), so requests
// keep being answered during the PUT; a bad spec at the end still refuses it whole and changes nothing.
// A real host with its admin API on 127.0.0.1, a real upstream.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

const TOKEN = "hosts-token";
const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
let host: SwitchyardHost;
let ups: Upstreams;
let root: string;
let admin: string;
let proxy: string;

beforeAll(async () => {
  ups = await startUpstreams(1);
  root = await mkdtemp(join(tmpdir(), "switchyard-hostile-hosts-"));
  const config = {
    ...mosnConfig({
      clusters: [{ name: "c", hosts: ups.addresses }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }])],
    }),
    admin: { address: "127.0.0.1:0" },
  };
  const parsed = parseConfig(JSON.stringify(config), join(root, "config.json")).config;
  host = new SwitchyardHost({ config: parsed, pluginsDir: null, stateDir: join(root, "state"), logger: pino({ level: "silent" }), watch: false, env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
  await host.start();
  admin = `http://127.0.0.1:${host.adminAddress!.port}`;
  proxy = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
}, 30_000);

afterAll(async () => {
  await host?.stop();
  await ups?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** 50,000 hosts, the upstream first (so requests still reach it), the rest on 127.0.x.y ports. */
function bigList(): { address: string; weight: number; metadata?: object }[] {
  return [{ address: ups.addresses[0]!, weight: 1 }, ...Array.from({ length: 49_999 }, (_, i) => ({ address: `127.0.${(i >> 8) & 255}.${i & 255}:${10_000 + (i % 1000)}`, weight: 1, metadata: { zone: `z${i % 3}` } }))];
}

describe("PUT /clusters/c/hosts with 50,000 hosts", () => {
  it("a bad spec at the last index refuses the whole list, naming the index, and changes nothing", async () => {
    const list: object[] = bigList();
    list[49_999] = { address: "127.0.0.1:99999" };
    const before = host.clusters.get("c")!.snapshot();
    const r = await fetch(`${admin}/clusters/c/hosts`, { method: "PUT", headers: auth, body: JSON.stringify(list) });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/49999/);
    expect(host.clusters.get("c")!.snapshot()).toBe(before);
  }, 20_000);

  it("requests keep being answered while the PUT is in flight", async () => {
    const body = JSON.stringify(bigList());
    // The window opens when the host starts applying the list to the cluster (the body is in and parsed by
    // then, so its upload does not count) and closes with the PUT's answer.
    const cluster = host.clusters.get("c")!;
    let applying = false;
    const update = cluster.update.bind(cluster);
    const updateInSlices = cluster.updateInSlices.bind(cluster);
    cluster.update = (specs) => ((applying = true), update(specs));
    cluster.updateInSlices = (specs) => ((applying = true), updateInSlices(specs));
    let putDone = false;
    const put = fetch(`${admin}/clusters/c/hosts`, { method: "PUT", headers: auth, body }).then(async (r) => {
      putDone = true;
      return { status: r.status, text: await r.text() };
    });
    // Requests one after the other until the PUT answers (at most 5,000): count those answered in the window.
    let answeredDuring = 0;
    for (let i = 0; i < 5_000 && !putDone; i++) {
      const wasApplying = applying;
      const r = await send(proxy, { path: `/during-${i}` });
      if (wasApplying && !putDone) {
        expect(r.status).toBe(200);
        answeredDuring++;
      }
    }
    const p = await put;
    expect(p.status).toBe(200);
    expect(JSON.parse(p.text)).toMatchObject({ cluster: "c", hosts: 50_000 });
    expect(cluster.snapshot().hosts).toHaveLength(50_000);
    expect(answeredDuring).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it("two PUTs sent together apply in order, whole: the last one wins", async () => {
    const big = fetch(`${admin}/clusters/c/hosts`, { method: "PUT", headers: auth, body: JSON.stringify(bigList()) });
    const small = fetch(`${admin}/clusters/c/hosts`, { method: "PUT", headers: auth, body: JSON.stringify([{ address: ups.addresses[0]!, weight: 2 }]) });
    const [a, b] = await Promise.all([big, small]);
    const [va, vb] = [(await a.json()) as { version: number }, (await b.json()) as { version: number }];
    expect([a.status, b.status]).toEqual([200, 200]);
    // They apply in the order their bodies are in (host/server/host.ts clusterExclusive), one version each;
    // the cluster shows the one applied last, whole.
    expect(Math.abs(va.version - vb.version)).toBe(1);
    const hosts = host.clusters.get("c")!.snapshot().hosts;
    if (vb.version > va.version) expect(hosts.map((x) => [x.address, x.weight])).toEqual([[ups.addresses[0]!, 2]]);
    else expect(hosts).toHaveLength(50_000);
  }, 30_000);
});

// One view of `switchyard run --workers 2` (a real process): GET /metrics on the primary sums both workers
// (prom-client's AggregatorRegistry over node:cluster, host/metrics/workers.ts), and GET /plugins gives each
// plugin's counters as totals with each worker's own. Each answer carries the pid of the worker that routed it
// (SWITCHYARD_WORKER_HEADER), requests go over fresh connections so that both workers are hit.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canaryVariant, get, hostConfig, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const HEADER = "x-switchyard-worker";
let root: string;
let upstream: Upstream;
let p: HostProcess;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-workers-metrics-"));
  upstream = await startUpstream("stable0");
  await canaryVariant(join(root, "plugins", "header-canary"), { version: "1.0.0", tagValue: "canary" });
  const configFile = join(root, "switchyard.json");
  await writeFile(configFile, JSON.stringify(hostConfig({ hosts: [{ address: upstream.address, tags: { version: "stable" } }], pluginsDir: join(root, "plugins"), fallback: "any" })));
  p = await spawnHost({ configFile, args: ["--workers", "2"], env: { SWITCHYARD_ADMIN_TOKEN: "t", SWITCHYARD_WORKER_HEADER: HEADER } });
}, 90_000);

afterAll(async () => {
  if (p) {
    p.kill("SIGTERM");
    await p.exited;
  }
  await upstream?.close();
  await rm(root, { recursive: true, force: true });
});

/** Sum of the samples of `name` whose labels contain every `match` pair, in Prometheus text. */
function total(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(match).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

describe("--workers 2: one view", () => {
  it("GET /metrics and GET /plugins count the requests of every worker, with each worker's own in /plugins", async () => {
    const perPid = new Map<string, number>();
    // Bounded: 200 requests at most, until each worker routed at least 5.
    for (let i = 0; i < 200 && !(perPid.size === 2 && [...perPid.values()].every((n) => n >= 5)); i++) {
      const r = await get(`${p.listenerUrl}/m`);
      expect(r.status).toBe(200);
      const pid = String(r.headers[HEADER]);
      perPid.set(pid, (perPid.get(pid) ?? 0) + 1);
    }
    expect(perPid.size).toBe(2);
    const sent = [...perPid.values()].reduce((a, b) => a + b, 0);

    const m = await get(`${p.adminUrl}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers["content-type"]).toMatch(/^text\/plain/);
    expect(total(m.body, "switchyard_requests_total", { status_class: "2xx" })).toBe(sent);
    expect(total(m.body, "switchyard_plugin_calls_total", { plugin: "header-canary" })).toBe(sent);
    // A state is not summed: the config version every worker serves, the bundle loaded (1).
    expect(total(m.body, "switchyard_plugin_config_version", { plugin: "header-canary" })).toBe(0);
    expect(total(m.body, "switchyard_plugin_bundle_info", { plugin: "header-canary" })).toBe(1);

    const plugins = JSON.parse((await get(`${p.adminUrl}/plugins`)).body) as { plugins: { name: string; calls: number; workers: { pid: number; calls: number; configVersion: number }[] }[] };
    const canary = plugins.plugins.find((x) => x.name === "header-canary")!;
    expect(canary.calls).toBe(sent);
    expect(Object.fromEntries(canary.workers.map((w) => [String(w.pid), w.calls]))).toEqual(Object.fromEntries(perPid));
    expect(canary.workers.map((w) => w.configVersion)).toEqual([0, 0]);
  });
});

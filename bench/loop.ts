// The infinite-loop plugin in the chain under concurrent load, measured in the host's own process: event
// loop delay (perf_hooks monitorEventLoopDelay) and request latency, with and without loop-route (fail open,
// quarantine out of reach, so that every request calls it and its CPU budget traps it). The timing numbers of
// test/failure-loop-load.test.ts, which checks only that each call ends by its fuel and every request is
// answered. Bounded: CLIENTS × REQUESTS requests per run, and LIMIT_MS per run at most.

import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import pino from "pino";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { table } from "./stats.js";

const CLIENTS = 8;
const REQUESTS = 40;
const LIMIT_MS = 15_000;
const BUDGET_MS = 5;

export interface LoopRow {
  readonly name: string;
  readonly requests: number;
  readonly latencyP50: number;
  readonly latencyP99: number;
  readonly loopP50: number;
  readonly loopP99: number;
  readonly loopMax: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function get(agent: http.Agent, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve());
      res.on("error", reject);
    });
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer within 5 s from ${url}`)));
    req.on("error", reject);
  });
}

async function load(name: string, url: string): Promise<LoopRow> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latencies: number[] = [];
  const hist = monitorEventLoopDelay({ resolution: 1 });
  const deadline = performance.now() + LIMIT_MS;
  hist.enable();
  try {
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < REQUESTS && performance.now() < deadline; i++) {
          const t0 = performance.now();
          await get(agent, `${url}/c${c}/${i}`);
          latencies.push(performance.now() - t0);
        }
      }),
    );
  } finally {
    hist.disable();
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  const ms = (ns: number) => ns / 1e6;
  return { name, requests: latencies.length, latencyP50: percentile(latencies, 50), latencyP99: percentile(latencies, 99), loopP50: ms(hist.percentile(50)), loopP99: ms(hist.percentile(99)), loopMax: ms(hist.max) };
}

async function startHost(root: string, pluginsDir: string, upstream: string): Promise<SwitchyardHost> {
  const config = {
    servers: [
      {
        routers: [{ router_config_name: "r", virtual_hosts: [{ name: "any", domains: ["*"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "web" } }] }] }],
        listeners: [{ name: "main", address: "127.0.0.1:0", filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }] }] }],
      },
    ],
    cluster_manager: { clusters: [{ name: "web", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: upstream }] }] },
  };
  const host = new SwitchyardHost({
    config: parseConfig(JSON.stringify(config), "bench-loop.json").config,
    logger: pino({ level: "silent" }),
    pluginsDir,
    stateDir: join(root, "state"),
    admin: false,
    watch: false,
    plugin: { quarantine: { threshold: 1_000_000_000, baseDelayMs: 1000, maxDelayMs: 1000 } },
  });
  await host.start();
  return host;
}

export async function benchLoop(repo: string): Promise<LoopRow[]> {
  const upstream = http.createServer((req, res) => {
    req.resume();
    res.end("ok\n");
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const upstreamAddress = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const root = await mkdtemp(join(tmpdir(), "switchyard-bench-loop-"));
  const hosts: SwitchyardHost[] = [];
  try {
    const plain = join(root, "plain");
    const looped = join(root, "looped");
    await cp(join(repo, "build/plugins/deny"), join(plain, "deny"), { recursive: true });
    await cp(join(repo, "build/plugins/deny"), join(looped, "deny"), { recursive: true });
    const loop = join(looped, "loop-route");
    await cp(join(repo, "test/fixtures/loop-route/bundle"), loop, { recursive: true });
    const meta = JSON.parse(await readFile(join(loop, "metadata.json"), "utf8")) as Record<string, unknown>;
    await writeFile(join(loop, "metadata.json"), JSON.stringify({ ...meta, failurePolicy: "open", budget: { cpuMs: BUDGET_MS } }));
    const rows: LoopRow[] = [];
    for (const [name, dir] of [["without loop-route", plain], [`with loop-route (cpuMs ${BUDGET_MS})`, looped], ["without loop-route, again", plain]] as const) {
      const host = await startHost(join(root, `${hosts.length}`), dir, upstreamAddress);
      hosts.push(host);
      const url = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
      const agent = new http.Agent();
      for (let i = 0; i < 20; i++) await get(agent, `${url}/warm`);
      agent.destroy();
      rows.push(await load(name, url));
    }
    return rows;
  } finally {
    for (const h of hosts) await h.stop();
    await new Promise<void>((r) => upstream.close(() => r()));
    await rm(root, { recursive: true, force: true });
  }
}

export function formatLoop(rows: readonly LoopRow[]): string {
  const base = Math.max(rows[0]?.loopP99 ?? 0, rows[2]?.loopP99 ?? 0);
  return table(
    ["run (8 clients, keep-alive)", "requests", "latency p50 ms", "latency p99 ms", "loop delay p50 ms", "loop delay p99 ms", "loop delay max ms", "p99 vs without"],
    rows.map((r) => [r.name, r.requests, r.latencyP50, r.latencyP99, r.loopP50, r.loopP99, r.loopMax, base > 0 ? `${(r.loopP99 / base).toFixed(2)}×` : "-"]),
  );
}

// End-to-end benchmark (issue 6): requests per second, latency and proxy CPU per request on loopback, for
// Switchyard without and with its chain of three plugins, against a hand-written undici floor, node
// http-proxy, @fastify/http-proxy, and nginx / HAProxy where installed, all in front of the same three
// upstreams. Each row runs as a fresh process per round; rounds are interleaved (A B C … A B C …) and the
// ratios are paired within a round, because this 2-core machine is shared and drifts between minutes.
//
// Settings (environment): E2E_ROUNDS (3), E2E_SECONDS (5), E2E_WARMUP_SECONDS (2), E2E_CONNECTIONS (64),
// E2E_CPUS (the last core: upstreams, proxy and load all pinned there with taskset; "off" to not pin),
// E2E_ROWS (comma-separated row ids), E2E_LOAD (wrk | node), E2E_UPSTREAM (nginx | node),
// E2E_WORKERS (N: adds Switchyard with the chain and --workers N, unpinned).

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus as osCpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { runLoad, type LoadTool } from "./loadgen.js";
import { haproxyConfig, nginxProxyConfig, nginxUpstreamConfig, parseStubStatus } from "./native.js";
import { freePort, sleep, start, treeCpuMicros, waitForPort, which, type Spawned } from "./proc.js";
import { median, table } from "../stats.js";

export const CHAIN = ["header-canary", "zone-affinity", "version-split"] as const;

/**
 * What every request carries, for every row alike. With bench/e2e/switchyard.json (three hosts tagged
 * version=v1, zone=a) the chain keeps all three hosts: x-canary 0 drops only canary hosts, x-zone a keeps
 * zone a (minHealthy 2 holds), and "user-12345" hashes to 76 ≥ 20, the v1 side of version-split.
 */
export const REQUEST_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "x-canary": "0", "x-zone": "a", "x-user": "user-12345" });

export interface E2eOptions {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  /** taskset CPU list for everything, or null. */
  cpus: string | null;
  rows: string[] | null;
  load: LoadTool;
  upstream: "nginx" | "node";
  workers: number | null;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): E2eOptions {
  const num = (name: string, dflt: number, min: number) => {
    const v = Number(env[name]);
    return env[name] !== undefined && Number.isFinite(v) && v >= min ? v : dflt;
  };
  const lastCpu = String(Math.max(0, osCpus().length - 1));
  const pin = env.E2E_CPUS === undefined ? lastCpu : env.E2E_CPUS === "off" || env.E2E_CPUS === "" ? null : env.E2E_CPUS;
  const load = env.E2E_LOAD === "node" || (env.E2E_LOAD !== "wrk" && which("wrk") === null) ? "node" : "wrk";
  const upstream = env.E2E_UPSTREAM === "node" || (env.E2E_UPSTREAM !== "nginx" && which("nginx") === null) ? "node" : "nginx";
  return {
    rounds: Math.round(num("E2E_ROUNDS", 3, 1)),
    seconds: num("E2E_SECONDS", 5, 1),
    warmupSeconds: num("E2E_WARMUP_SECONDS", 2, 0),
    connections: Math.round(num("E2E_CONNECTIONS", 64, 1)),
    cpus: pin !== null && which("taskset") !== null ? pin : null,
    rows: env.E2E_ROWS ? env.E2E_ROWS.split(",").map((s) => s.trim()).filter(Boolean) : null,
    load,
    upstream,
    workers: env.E2E_WORKERS ? Math.round(num("E2E_WORKERS", 2, 1)) : null,
  };
}

/** One measured run of one row. */
export interface Sample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Proxy CPU (whole process tree) per request, µs; null for the row without a proxy. */
  cpuUsPerRequest: number | null;
  /** Share of one core the proxy tree used during the run: well below 100% on a saturated proxy means
   * that neighbours on its core took the rest (req/s then says more about the machine than the proxy). */
  cpuShare: number | null;
  requests: number;
  errors: number;
  /** Connections the upstreams accepted during the warm-up, and during the measured run. */
  warmupConnections: number;
  runConnections: number;
  /** Balance check: hits per upstream (null without a proxy). */
  hits: number[] | null;
  /** Switchyard rows: plugin calls counted by the host during the balance check. */
  pluginCalls: number | null;
}

interface Row {
  id: string;
  label: string;
  /** Starts the proxy listening on `port`; null for the row without a proxy. */
  start: ((port: number) => Spawned) | null;
  /** Admin port of a Switchyard row, to read its plugin call counts. */
  adminPort?: number;
}

export interface E2eResult {
  options: E2eOptions;
  notes: string[];
  rows: { id: string; label: string; samples: Sample[]; failures: string[] }[];
}

interface Env {
  root: string;
  tmp: string;
  upstreamPorts: number[];
  statusPort: number;
  opts: E2eOptions;
}

const live = new Set<Spawned>();
process.once("exit", () => { for (const s of live) if (!s.exited) s.child.kill("SIGKILL"); });

function track(s: Spawned): Spawned {
  live.add(s);
  s.child.once("exit", () => live.delete(s));
  return s;
}

export async function benchE2E(root: string, opts: E2eOptions = optionsFromEnv()): Promise<E2eResult> {
  const notes: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
  const env: Env = { root, tmp, upstreamPorts: [await freePort(), await freePort(), await freePort()], statusPort: await freePort(), opts };
  notes.push(opts.upstream === "nginx" ? "upstreams: nginx `return 200` on three ports (one worker)" : `upstreams: three node:http servers in one process${which("nginx") === null ? " (nginx not installed)" : ""}`);
  notes.push(opts.load === "wrk" ? `load: wrk -t1 -c${opts.connections}` : `load: undici load generator (bench/e2e/load.ts), ${opts.connections} connections${which("wrk") === null ? " (wrk not installed)" : ""}`);
  notes.push(opts.cpus !== null ? `pinned: upstreams, proxy and load on CPU ${opts.cpus} (taskset)` : "not pinned");
  const upstream = track(startUpstreams(env));
  const result: E2eResult = { options: opts, notes, rows: [] };
  try {
    await waitForPort(env.statusPort, 10_000, upstream);
    for (const p of env.upstreamPorts) await waitForPort(p, 10_000, upstream);
    const rows = await defineRows(env, notes);
    for (const r of rows) result.rows.push({ id: r.id, label: r.label, samples: [], failures: [] });
    const counter = acceptCounter(env);
    for (let round = 0; round < opts.rounds; round++) {
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const out = result.rows[i]!;
        try {
          out.samples.push(await measure(env, row, counter));
        } catch (err) {
          out.failures.push(`round ${round + 1}: ${(err as Error).message.split("\n")[0]}`);
        }
      }
    }
  } finally {
    await upstream.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return result;
}

function startUpstreams(env: Env): Spawned {
  const [a, b, c] = env.upstreamPorts;
  if (env.opts.upstream === "nginx") {
    const conf = nginxUpstreamConfig(join(env.tmp, "upstream"), env.upstreamPorts, env.statusPort);
    return start("nginx upstreams", "nginx", ["-p", join(env.tmp, "upstream"), "-c", conf, "-e", join(env.tmp, "upstream", "error.log")], env.opts.cpus);
  }
  const script = join(env.root, "dist/bench/e2e/upstream.js");
  return start("node upstreams", process.execPath, [script, String(env.statusPort), String(a), String(b), String(c)], env.opts.cpus);
}

/** Connections accepted by the three upstreams so far, without the status queries' own. */
function acceptCounter(env: Env): () => Promise<number> {
  let queries = 0;
  const pool = () => new Pool(`http://127.0.0.1:${env.statusPort}`, { connections: 1 });
  return async () => {
    // A fresh connection per query, counted by nginx's stub_status as one accept: subtract them.
    queries++;
    const p = pool();
    try {
      const r = await p.request({ path: "/", method: "GET" });
      const text = await r.body.text();
      if (env.opts.upstream === "nginx") {
        const n = parseStubStatus(text);
        if (n === null) throw new Error(`stub_status not understood: ${text}`);
        return n - queries;
      }
      return (JSON.parse(text) as { accepted: number }).accepted;
    } finally {
      await p.destroy();
    }
  };
}

async function defineRows(env: Env, notes: string[]): Promise<Row[]> {
  const { root, tmp, upstreamPorts, opts } = env;
  const node = process.execPath;
  const ups = upstreamPorts.map(String);
  const pin = opts.cpus;
  const switchyard = async (id: string, withChain: boolean, workers: number | null): Promise<Row> => {
    const adminPort = await freePort();
    const pluginsDir = join(tmp, `plugins-${id}`);
    if (withChain) for (const name of CHAIN) cpSync(join(root, "build/plugins", name), join(pluginsDir, name), { recursive: true });
    return {
      id,
      label: `switchyard, ${withChain ? "chain of 3 plugins" : "no plugin"}${workers !== null ? `, --workers ${workers}` : ""}`,
      adminPort,
      start: (port) => {
        const file = join(tmp, `${id}.json`);
        writeFileSync(file, JSON.stringify(switchyardConfig(root, port, upstreamPorts, adminPort, withChain)));
        const args = [join(root, "bin/switchyard.js"), "run", "--config", file, "--log-level", "silent"];
        if (withChain) args.push("--plugins", pluginsDir);
        if (workers !== null) args.push("--workers", String(workers));
        // --workers is about using the cores that are free: that row is not pinned.
        return start(id, node, args, workers !== null ? null : pin);
      },
    };
  };
  const script = (rel: string, id: string) => (port: number) => start(id, node, [join(root, rel), String(port), ...ups], pin);
  const all: Row[] = [
    { id: "none", label: "no proxy (ceiling)", start: null },
    await switchyard("switchyard", false, null),
    await switchyard("switchyard-chain", true, null),
    { id: "floor-dispatch", label: "floor: node:http + undici Pool.dispatch()", start: script("dist/bench/floor/undici-dispatch.js", "floor-dispatch") },
    { id: "floor-request", label: "floor: node:http + undici Pool.request()", start: script("dist/bench/floor/undici-request.js", "floor-request") },
    { id: "http-proxy", label: "node http-proxy (keep-alive agents)", start: script("dist/bench/e2e/peers/http-proxy.js", "http-proxy") },
    { id: "fastify", label: "fastify + @fastify/http-proxy", start: script("dist/bench/e2e/peers/fastify-proxy.js", "fastify") },
  ];
  if (which("nginx") !== null) {
    all.push({
      id: "nginx",
      label: "nginx, 1 worker, keepalive 256",
      start: (port) => {
        const dir = join(tmp, `nginx-proxy-${port}`);
        const conf = nginxProxyConfig(dir, port, upstreamPorts);
        return start("nginx", "nginx", ["-p", dir, "-c", conf, "-e", join(dir, "error.log")], pin);
      },
    });
  } else notes.push("skipped nginx proxy: nginx is not installed (apt-get install nginx)");
  if (which("haproxy") !== null) {
    all.push({
      id: "haproxy",
      label: "HAProxy, 1 thread, http-reuse always",
      start: (port) => start("haproxy", "haproxy", ["-db", "-f", haproxyConfig(join(tmp, `haproxy-${port}`), port, upstreamPorts)], pin),
    });
  } else notes.push("skipped HAProxy: haproxy is not installed (apt-get install haproxy)");
  if (opts.workers !== null) all.push(await switchyard("switchyard-workers", true, opts.workers));
  else notes.push("not measured: switchyard --workers (set E2E_WORKERS=N)");
  if (opts.rows === null) return all;
  const unknown = opts.rows.filter((id) => !all.some((r) => r.id === id));
  if (unknown.length > 0) notes.push(`unknown rows in E2E_ROWS ignored: ${unknown.join(", ")} (rows: ${all.map((r) => r.id).join(", ")})`);
  // The chain row stays in: every ratio is paired against it.
  return all.filter((r) => r.id === "switchyard-chain" || opts.rows!.includes(r.id));
}

/** bench/e2e/switchyard.json with this run's ports; without the chain, the route lists no plugin. */
function switchyardConfig(root: string, port: number, upstreams: number[], adminPort: number, withChain: boolean): unknown {
  const c = JSON.parse(readFileSync(join(root, "bench/e2e/switchyard.json"), "utf8"));
  c.servers[0].listeners[0].address = `127.0.0.1:${port}`;
  c.cluster_manager.clusters[0].hosts.forEach((h: { address: string }, i: number) => { h.address = `127.0.0.1:${upstreams[i]}`; });
  c.admin.address = `127.0.0.1:${adminPort}`;
  if (!withChain) c.servers[0].routers[0].virtual_hosts[0].routers[0].route.switchyard.plugins = [];
  return c;
}

async function measure(env: Env, row: Row, accepted: () => Promise<number>): Promise<Sample> {
  const { opts } = env;
  const port = row.start === null ? env.upstreamPorts[0]! : await freePort();
  const proc = row.start === null ? null : track(row.start(port));
  try {
    if (proc !== null) await waitForPort(port, 30_000, proc);
    // Switchyard opens its admin API last, after every worker is ready: with --workers the listener
    // answers as soon as the first worker listens.
    if (proc !== null && row.adminPort !== undefined) await waitForPort(row.adminPort, 60_000, proc);
    const url = `http://127.0.0.1:${port}/`;
    const hits = proc === null ? null : await balanceCheck(url, env.upstreamPorts.length);
    const pluginCalls = row.adminPort !== undefined ? await pluginCallCount(row.adminPort) : null;
    const loadScript = join(env.root, "dist/bench/e2e/load.js");
    const spec = (seconds: number) => ({ url, connections: opts.connections, durationMs: seconds * 1000, headers: { ...REQUEST_HEADERS }, maxRequests: 4_000_000 });
    const a0 = await accepted();
    if (opts.warmupSeconds > 0) await runLoad(opts.load, spec(opts.warmupSeconds), opts.cpus, loadScript);
    await sleep(200);
    const a1 = await accepted();
    const cpu0 = proc === null ? 0 : treeCpuMicros(proc.pid);
    const r = await runLoad(opts.load, spec(opts.seconds), opts.cpus, loadScript);
    const cpu1 = proc === null ? 0 : treeCpuMicros(proc.pid);
    const a2 = await accepted();
    if (proc?.exited) throw new Error(`${row.id} exited during the run: ${proc.output().slice(-300)}`);
    return {
      rps: r.requests / r.seconds,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      cpuUsPerRequest: proc === null || r.requests === 0 ? null : (cpu1 - cpu0) / r.requests,
      cpuShare: proc === null ? null : (cpu1 - cpu0) / (r.seconds * 1e6),
      requests: r.requests,
      errors: r.errors,
      warmupConnections: a1 - a0,
      runConnections: a2 - a1,
      hits,
      pluginCalls,
    };
  } finally {
    await proc?.stop();
  }
}

/** 300 requests through the proxy, 4 at a time; which upstream answered is in the body ("u1\n"…). */
async function balanceCheck(url: string, upstreams: number): Promise<number[]> {
  const hits = new Array<number>(upstreams + 1).fill(0); // the last slot counts failures
  const pool = new Pool(new URL(url).origin, { connections: 4 });
  try {
    let left = 300;
    const worker = async () => {
      while (left-- > 0) {
        try {
          const r = await pool.request({ path: "/", method: "GET", headers: { ...REQUEST_HEADERS } });
          const body = (await r.body.text()).trim();
          const i = /^u(\d+)$/.exec(body) ? Number(body.slice(1)) - 1 : -1;
          hits[r.statusCode === 200 && i >= 0 && i < upstreams ? i : upstreams]!++;
        } catch {
          hits[upstreams]!++;
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  } finally {
    await pool.destroy();
  }
  return hits;
}

async function pluginCallCount(adminPort: number): Promise<number | null> {
  try {
    const pool = new Pool(`http://127.0.0.1:${adminPort}`, { connections: 1 });
    const r = await pool.request({ path: "/plugins", method: "GET" });
    const j = (await r.body.json()) as { plugins: { calls: number }[] };
    await pool.destroy();
    return j.plugins.reduce((a, p) => a + p.calls, 0);
  } catch {
    return null;
  }
}

/** A balance check passes when nothing failed and every upstream got at least half of an even share. */
export function balanced(hits: readonly number[]): boolean {
  const n = hits.length - 1;
  const total = hits.slice(0, n).reduce((a, b) => a + b, 0);
  return hits[n] === 0 && total > 0 && hits.slice(0, n).every((h) => h >= total / (2 * n));
}

// --- report -------------------------------------------------------------------------------------------

const CHAIN_ID = "switchyard-chain";

export function formatE2E(r: E2eResult): string {
  const out: string[] = [];
  const o = r.options;
  out.push(`${o.rounds} interleaved rounds × (${o.warmupSeconds} s warm-up + ${o.seconds} s measured) per row, fresh process per row and round; medians.`);
  for (const n of r.notes) out.push(`- ${n}`);
  out.push("");
  const rows = r.rows.filter((x) => x.samples.length > 0);
  const med = (xs: Sample[], f: (s: Sample) => number | null) => {
    const v = xs.map(f).filter((x): x is number => x !== null && Number.isFinite(x));
    return v.length ? median(v) : NaN;
  };
  out.push(
    table(
      ["proxy", "req/s", "p50 ms", "p99 ms", "p99/p50", "CPU µs/req", "proxy CPU %", "new upstream conns warm-up/run", "balance u1/u2/u3/failed", "errors"],
      rows.map((x) => {
        const s = x.samples;
        const hits = s[0]!.hits;
        const bal = hits === null ? "-" : `${s.every((q) => q.hits !== null && balanced(q.hits)) ? "ok" : "NOT BALANCED"} ${hits.join("/")}`;
        return [
          x.label,
          med(s, (q) => q.rps),
          med(s, (q) => q.p50Ms),
          med(s, (q) => q.p99Ms),
          med(s, (q) => q.p99Ms / q.p50Ms),
          med(s, (q) => q.cpuUsPerRequest),
          Number.isFinite(med(s, (q) => q.cpuShare)) ? `${Math.round(med(s, (q) => q.cpuShare) * 100)}%` : "-",
          `${s.map((q) => q.warmupConnections).join(",")} / ${s.map((q) => q.runConnections).join(",")}`,
          bal,
          String(s.reduce((a, q) => a + q.errors, 0)),
        ];
      }),
    ),
  );
  const chain = r.rows.find((x) => x.id === CHAIN_ID);
  if (chain !== undefined && chain.samples.length > 0) {
    out.push("");
    out.push("Paired ratios, Switchyard with the chain ÷ each row, per round (median first):");
    out.push("");
    const paired = (other: (typeof r.rows)[number], f: (s: Sample) => number | null) => {
      const per: number[] = [];
      for (let i = 0; i < Math.min(chain.samples.length, other.samples.length); i++) {
        const a = f(chain.samples[i]!);
        const b = f(other.samples[i]!);
        if (a !== null && b !== null && b > 0) per.push(a / b);
      }
      return per;
    };
    const cell = (per: number[]) => (per.length ? `${median(per).toFixed(2)} (${per.map((x) => x.toFixed(2)).join(", ")})` : "-");
    out.push(
      table(
        ["vs", "req/s ratio", "CPU/req ratio"],
        rows.filter((x) => x.id !== CHAIN_ID).map((x) => [x.label, cell(paired(x, (q) => q.rps)), cell(paired(x, (q) => q.cpuUsPerRequest))]),
      ),
    );
    out.push("");
    out.push(...targets(r, paired));
    const calls = chain.samples.map((q) => q.pluginCalls).filter((c): c is number => c !== null);
    if (calls.length) out.push(`- chain row: plugin calls counted by the host after its 300-request balance check: ${calls.join(", ")} (3 plugins × 300 = 900 expected)`);
  }
  const failed = r.rows.filter((x) => x.failures.length > 0);
  if (failed.length) {
    out.push("");
    for (const x of failed) for (const f of x.failures) out.push(`FAILED ${x.label}: ${f}`);
  }
  return out.join("\n");
}

type Paired = (other: E2eResult["rows"][number], f: (s: Sample) => number | null) => number[];

/** Issue 6's targets, each as "met" or "missed by …", from the paired per-round ratios. */
function targets(r: E2eResult, paired: Paired): string[] {
  const byId = (id: string) => r.rows.find((x) => x.id === id && x.samples.length > 0);
  const lines: string[] = ["Targets of issue 6 (medians of the per-round paired ratios):"];
  const check = (what: string, id: string, f: (s: Sample) => number | null, limit: number, atMost: boolean) => {
    const other = byId(id);
    if (other === undefined) return lines.push(`- ${what}: not measured`);
    const m = median(paired(other, f));
    const ok = atMost ? m <= limit : m >= limit;
    lines.push(`- ${what}: ${m.toFixed(2)} → ${ok ? "met" : `missed by ${(Math.abs(m / limit - 1) * 100).toFixed(0)}%`}`);
  };
  const cpu = (q: Sample) => q.cpuUsPerRequest;
  const rps = (q: Sample) => q.rps;
  check("CPU/req chain ÷ floor Pool.request() ≤ 1.00", "floor-request", cpu, 1, true);
  check("CPU/req chain ÷ floor Pool.dispatch() ≤ 1.00 (aim)", "floor-dispatch", cpu, 1, true);
  check("req/s chain ÷ http-proxy ≥ 1.60", "http-proxy", rps, 1.6, false);
  check("req/s chain ÷ @fastify/http-proxy ≥ 1.50", "fastify", rps, 1.5, false);
  check("CPU/req chain on ÷ chain off ≤ 1.05", "switchyard", cpu, 1.05, true);
  const chain = byId(CHAIN_ID);
  if (chain) {
    const m = median(chain.samples.map((q) => q.p99Ms / q.p50Ms));
    lines.push(`- p99/p50 of the chain row ≤ 2.0: ${m.toFixed(2)} → ${m <= 2 ? "met" : `missed by ${((m / 2 - 1) * 100).toFixed(0)}%`}`);
  }
  return lines;
}

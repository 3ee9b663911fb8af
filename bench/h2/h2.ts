// The HTTP/2 bench (issue 15): Switchyard with its chain of three on each protocol path — HTTP/1.1 → HTTP/1.1
// (the reference), h2c → HTTP/1.1 and h2c → h2c — against hand-written node:http2 floors (bench/floor/
// http2-dispatch.ts, http2-sessions.ts), nginx with `http2` (h2c → HTTP/1.1: nginx proxies to upstreams over
// HTTP/1.1 only) and HAProxy (h2c → h2c), all in front of the same nginx upstreams, which answer on HTTP/1.1
// ports and on h2c ports. Every row is loaded by h2load (bench/h2/h2load.ts); as in the end-to-end bench
// (bench/e2e/e2e.ts), each row runs as a fresh process per round, rounds are interleaved, everything is pinned
// to one core, and ratios are paired within a round.
//
// Settings (environment): the end-to-end bench's E2E_ROUNDS (5), E2E_SECONDS (5), E2E_WARMUP_SECONDS (2),
// E2E_CONNECTIONS (64: concurrent requests, i.e. HTTP/1.1 connections, or H2_CLIENTS connections × streams),
// E2E_CPUS, E2E_ROWS; and H2_CLIENTS (4: HTTP/2 connections the 64 concurrent streams share).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { CHAIN, copyBundle, optionsFromEnv, pairByRound, ratioCell, REQUEST_HEADERS, track, type E2eOptions } from "../e2e/e2e.js";
import { haproxyConfig, nginxProxyConfig, nginxUpstreamConfig } from "../e2e/native.js";
import { freePort, start, treeCpuMicros, waitForPort, which, type Spawned } from "../e2e/proc.js";
import { LOAD_COLUMNS, loadCells, table } from "../stats.js";
import { runH2Load } from "./h2load.js";

type Protocol = "h1" | "h2";

interface Row {
  id: string;
  label: string;
  /** What clients speak to the proxy, and the proxy to the upstreams. */
  down: Protocol;
  up: Protocol;
  start: (port: number) => Spawned;
  /** Switchyard rows: their admin port, to read the chain's call count. */
  adminPort?: number;
}

export interface H2Sample {
  round: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  requests: number;
  errors: number;
  /** Answers of the 30-request check by upstream (u1, u2, u3, other). */
  hits: number[];
  /** Switchyard rows: plugin calls the host counted during the check (3 plugins × 30 = 90). */
  pluginCalls: number | null;
}

interface RowResult {
  id: string;
  label: string;
  down: Protocol;
  up: Protocol;
  samples: H2Sample[];
  failures: string[];
}

export interface H2Result {
  options: E2eOptions;
  clients: number;
  notes: string[];
  rows: RowResult[];
}

interface Env {
  root: string;
  tmp: string;
  h1Ports: number[];
  h2Ports: number[];
  opts: E2eOptions;
}

const CHECK_REQUESTS = 30;

export async function benchH2(root: string, opts: E2eOptions = optionsFromEnv(), clients = h2Clients()): Promise<H2Result> {
  for (const tool of ["h2load", "nginx"]) {
    if (which(tool) === null) throw new Error(`${tool} is not installed (apt-get install ${tool === "h2load" ? "nghttp2-client" : tool})`);
  }
  const notes = [
    "upstreams: nginx `return 200` on three HTTP/1.1 ports and three h2c ports (one worker)",
    `load: h2load, ${opts.connections} concurrent requests: HTTP/1.1 ${opts.connections} connections; h2c ${clients} connections × ${Math.max(1, Math.round(opts.connections / clients))} streams`,
    opts.cpus !== null ? `pinned: upstreams, proxy and load on CPU ${opts.cpus} (taskset)` : "not pinned",
    "Switchyard rows run the chain of three (header-canary, zone-affinity, version-split), as the end-to-end bench's chain row",
  ];
  const env: Env = { root, tmp: mkdtempSync(join(tmpdir(), "switchyard-h2-")), h1Ports: [], h2Ports: [], opts };
  for (let i = 0; i < 3; i++) env.h1Ports.push(await freePort());
  for (let i = 0; i < 3; i++) env.h2Ports.push(await freePort());
  const statusPort = await freePort();
  const dir = join(env.tmp, "upstream");
  const upstream = track(start("nginx upstreams", "nginx", ["-p", dir, "-c", nginxUpstreamConfig(dir, env.h1Ports, statusPort, env.h2Ports), "-e", join(dir, "error.log")], opts.cpus));
  try {
    for (const p of [...env.h1Ports, ...env.h2Ports]) await waitForPort(p, 10_000, upstream);
    const rows = await defineRows(env, notes);
    const results: RowResult[] = rows.map((r) => ({ id: r.id, label: r.label, down: r.down, up: r.up, samples: [], failures: [] }));
    for (let round = 0; round < opts.rounds; round++) {
      for (let i = 0; i < rows.length; i++) {
        try {
          results[i]!.samples.push(await measure(env, rows[i]!, round, clients));
        } catch (err) {
          results[i]!.failures.push(`round ${round + 1}: ${(err as Error).message.split("\n")[0]}`);
        }
      }
    }
    return { options: opts, clients, notes, rows: results };
  } finally {
    await upstream.stop();
    rmSync(env.tmp, { recursive: true, force: true });
  }
}

function h2Clients(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.H2_CLIENTS);
  return Number.isInteger(n) && n >= 1 ? n : 4;
}

async function defineRows(env: Env, notes: string[]): Promise<Row[]> {
  const { root, tmp, h1Ports, h2Ports, opts } = env;
  const script = (id: string, label: string, rel: string, up: Protocol): Row => ({
    id,
    label,
    down: "h2",
    up,
    start: (port) => start(id, process.execPath, [join(root, rel), String(port), ...(up === "h2" ? h2Ports : h1Ports).map(String)], opts.cpus),
  });
  const all: Row[] = [
    await switchyardRow(env, "switchyard-h1", "h1", "h1"),
    await switchyardRow(env, "switchyard-h2-h1", "h2", "h1"),
    await switchyardRow(env, "switchyard-h2-h2", "h2", "h2"),
    script("floor-h2-h1", "floor: node:http2 + undici Pool.dispatch()", "dist/bench/floor/http2-dispatch.js", "h1"),
    script("floor-h2-h2", "floor: node:http2 + node:http2 client sessions", "dist/bench/floor/http2-sessions.js", "h2"),
    {
      id: "nginx-h2-h1",
      label: "nginx http2, 1 worker, keepalive 256",
      down: "h2",
      up: "h1",
      start: (port) => {
        const dir = join(tmp, `nginx-h2-${port}`);
        return start("nginx", "nginx", ["-p", dir, "-c", nginxProxyConfig(dir, port, h1Ports, true), "-e", join(dir, "error.log")], opts.cpus);
      },
    },
  ];
  if (which("haproxy") !== null) {
    all.push({
      id: "haproxy-h2-h2",
      label: "HAProxy proto h2, 1 thread",
      down: "h2",
      up: "h2",
      start: (port) => start("haproxy", "haproxy", ["-db", "-f", haproxyConfig(join(tmp, `haproxy-h2-${port}`), port, h2Ports, true)], opts.cpus),
    });
  } else notes.push("skipped HAProxy h2c → h2c: haproxy is not installed (apt-get install haproxy)");
  if (opts.rows === null) return all;
  return all.filter((r) => opts.rows!.includes(r.id));
}

/** Switchyard with the chain: bench/e2e/switchyard.json with this row's listener and cluster protocols. */
async function switchyardRow(env: Env, id: string, down: Protocol, up: Protocol): Promise<Row> {
  const { root, tmp, opts } = env;
  const adminPort = await freePort();
  const pluginsDir = join(tmp, `plugins-${id}`);
  for (const name of CHAIN) copyBundle(join(root, "build/plugins", name), join(pluginsDir, name), null);
  const paths = { h1: "HTTP/1.1", h2: "h2c" };
  return {
    id,
    label: `switchyard, chain of 3, ${paths[down]} → ${paths[up]}`,
    down,
    up,
    adminPort,
    start: (port) => {
      const c = JSON.parse(readFileSync(join(root, "bench/e2e/switchyard.json"), "utf8"));
      const listener = c.servers[0].listeners[0];
      const cluster = c.cluster_manager.clusters[0];
      listener.address = `127.0.0.1:${port}`;
      listener.filter_chains[0].filters[0].config.downstream_protocol = down === "h2" ? "Http2" : "Http1";
      const ports = up === "h2" ? env.h2Ports : env.h1Ports;
      cluster.hosts.forEach((h: { address: string }, i: number) => { h.address = `127.0.0.1:${ports[i]}`; });
      if (up === "h2") cluster.http2_protocol_options = {};
      c.admin.address = `127.0.0.1:${adminPort}`;
      const file = join(tmp, `${id}.json`);
      writeFileSync(file, JSON.stringify(c));
      return start(id, process.execPath, [join(root, "bin/switchyard.js"), "run", "--config", file, "--plugins", pluginsDir, "--log-level", "silent"], opts.cpus);
    },
  };
}

async function measure(env: Env, row: Row, round: number, clients: number): Promise<H2Sample> {
  const { opts } = env;
  const port = await freePort();
  const proc = track(row.start(port));
  try {
    await waitForPort(port, 30_000, proc);
    if (row.adminPort !== undefined) await waitForPort(row.adminPort, 30_000, proc);
    const url = `http://127.0.0.1:${port}/`;
    const before = row.adminPort !== undefined ? await pluginCalls(row.adminPort) : null;
    const hits = await check(url, row.down);
    const after = row.adminPort !== undefined ? await pluginCalls(row.adminPort) : null;
    const load = (seconds: number) =>
      runH2Load(
        {
          url,
          clients: row.down === "h1" ? opts.connections : clients,
          streams: row.down === "h1" ? 1 : Math.max(1, Math.round(opts.connections / clients)),
          h1: row.down === "h1",
          seconds,
          headers: REQUEST_HEADERS,
          logFile: join(env.tmp, `h2load-${row.id}.log`),
        },
        opts.cpus,
      );
    if (opts.warmupSeconds > 0) await load(opts.warmupSeconds);
    const cpu0 = treeCpuMicros(proc.pid);
    const r = await load(opts.seconds);
    const cpu1 = treeCpuMicros(proc.pid);
    if (proc.exited) throw new Error(`${row.id} exited during the run: ${proc.output().slice(-300)}`);
    return {
      round,
      rps: r.rps,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      cpuUsPerRequest: r.requests === 0 ? NaN : (cpu1 - cpu0) / r.requests,
      requests: r.requests,
      errors: r.errors,
      hits,
      pluginCalls: before === null || after === null ? null : after - before,
    };
  } finally {
    await proc.stop();
  }
}

/** CHECK_REQUESTS requests, one at a time, in the row's protocol; counts which upstream answered ("uN\n"). */
async function check(url: string, down: Protocol): Promise<number[]> {
  const hits = [0, 0, 0, 0];
  const count = (status: number, body: string) => {
    const m = /^u([123])$/.exec(body.trim());
    hits[status === 200 && m ? Number(m[1]) - 1 : 3]!++;
  };
  if (down === "h1") {
    const pool = new Pool(new URL(url).origin, { connections: 1 });
    try {
      for (let i = 0; i < CHECK_REQUESTS; i++) {
        const r = await pool.request({ path: "/", method: "GET", headers: { ...REQUEST_HEADERS } });
        count(r.statusCode, await r.body.text());
      }
    } finally {
      await pool.destroy();
    }
    return hits;
  }
  const session = connect(url);
  try {
    for (let i = 0; i < CHECK_REQUESTS; i++) {
      const [status, body] = await new Promise<[number, string]>((resolve, reject) => {
        const s = session.request({ ":path": "/", ...REQUEST_HEADERS });
        let status = 0;
        let body = "";
        s.setEncoding("utf8");
        s.on("response", (h) => { status = Number(h[":status"]); });
        s.on("data", (d: string) => { body += d; });
        s.on("end", () => resolve([status, body]));
        s.on("error", reject);
      });
      count(status, body);
    }
  } finally {
    session.destroy();
  }
  return hits;
}

async function pluginCalls(adminPort: number): Promise<number | null> {
  const pool = new Pool(`http://127.0.0.1:${adminPort}`, { connections: 1 });
  try {
    const r = await pool.request({ path: "/plugins", method: "GET" });
    const j = (await r.body.json()) as { plugins: { calls: number }[] };
    return j.plugins.reduce((a, p) => a + p.calls, 0);
  } catch {
    return null;
  } finally {
    await pool.destroy();
  }
}

// --- report -------------------------------------------------------------------------------------------

/** Which rows each Switchyard row is divided by: its floor, the native proxies on its path, the HTTP/1.1 path. */
const PAIRS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  "switchyard-h2-h1": ["floor-h2-h1", "nginx-h2-h1", "switchyard-h1"],
  "switchyard-h2-h2": ["floor-h2-h2", "haproxy-h2-h2", "switchyard-h1"],
});

export function formatH2(r: H2Result): string {
  const o = r.options;
  const out: string[] = [`${o.rounds} interleaved rounds × (${o.warmupSeconds} s warm-up + ${o.seconds} s measured) per row, fresh process per row and round; medians.`];
  for (const n of r.notes) out.push(`- ${n}`);
  out.push("");
  const rows = r.rows.filter((x) => x.samples.length > 0);
  out.push(
    table(
      ["proxy", ...LOAD_COLUMNS, "check u1/u2/u3/other", "plugin calls in check", "errors"],
      rows.map((x) => {
        const s = x.samples;
        const ok = s.every((q) => q.hits[3] === 0 && q.hits.slice(0, 3).every((h) => h > 0));
        return [
          x.label,
          ...loadCells(s),
          `${ok ? "ok" : "FAILED"} ${s[0]!.hits.join("/")}`,
          s[0]!.pluginCalls === null ? "-" : s.map((q) => q.pluginCalls).join(","),
          String(s.reduce((a, q) => a + q.errors, 0)),
        ];
      }),
    ),
  );
  out.push("", "Paired ratios, each Switchyard HTTP/2 row ÷ the row named, per round (median first):", "");
  const ratioRows: string[][] = [];
  for (const [id, others] of Object.entries(PAIRS)) {
    const a = r.rows.find((x) => x.id === id);
    for (const otherId of others) {
      const b = r.rows.find((x) => x.id === otherId);
      if (a === undefined || b === undefined || a.samples.length === 0 || b.samples.length === 0) continue;
      ratioRows.push([a.label, b.label, ratioCell(pairByRound(a, b, (q) => q.cpuUsPerRequest)), ratioCell(pairByRound(a, b, (q) => q.rps))]);
    }
  }
  out.push(table(["switchyard row", "÷", "CPU/req ratio", "req/s ratio"], ratioRows));
  const failed = r.rows.filter((x) => x.failures.length > 0);
  if (failed.length) {
    out.push("");
    for (const x of failed) for (const f of x.failures) out.push(`FAILED ${x.label}: ${f}`);
  }
  return out.join("\n");
}

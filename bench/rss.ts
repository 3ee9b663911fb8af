// RSS benchmark (issue 6): "RSS ≤ 120 MB with ten plugins loaded and a 1,000-host cluster, after 1,000,000
// requests (no growth)". One Switchyard process (no --workers, not pinned: the load generator takes the
// other core) loads ten distinct plugins: the five examples of build/plugins and five pass-through plugins
// generated from plugins/drain under other names (a plugin's name is compiled into its wasm, so a renamed
// copy of a bundle is refused). The route runs nine of them (every one but `deny`, which rejects) over a
// cluster of 1,000 hosts: the three real upstreams tagged version=v1, zone=a, and dead hosts at 127.0.0.1
// ports nothing listens on, tagged zone=b, which zone-affinity drops for requests carrying x-zone: a (a
// balance check proves that every answer came from a real upstream). The process's VmRSS is read at
// start-up, after a warm-up, and every second of the measured run, with the requests the host has routed
// so far (the first chain plugin's call count, from the admin API's GET /plugins).
//
// Settings (environment): RSS_REQUESTS (1,000,000 measured requests, after the warm-up; at most 4,000,000,
// the load generator's bound), RSS_WARMUP (50,000 requests), RSS_HOSTS (1,000, the three real upstreams
// included), RSS_CONNECTIONS (64), RSS_UPSTREAM (nginx | node: nginx when installed, as the e2e bench),
// RSS_MAX_MINUTES (15: time bound of the measured run; a run stopped by it says so), RSS_PLUGIN_CPU_MS
// (unset: the bundles' own budgets, i.e. the host's defaults; N: budget.cpuMs written into the bench's
// copies of the ten bundles). Until the host armed table loads in proportion to the table (sdk/ABI.md §7),
// a 1,000-host table ran every plugin out of fuel and this bench had to raise the budget; it no longer does.
// MB here are MiB (2^20 bytes): VmRSS counts KiB.
//
// node dist/bench/run.js rss

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Pool } from "undici";
import { balanced, CHAIN, REQUEST_HEADERS } from "./e2e/e2e.js";
import type { LoadResult, LoadSpec } from "./e2e/load.js";
import { runLoad } from "./e2e/loadgen.js";
import { nginxUpstreamConfig } from "./e2e/native.js";
import { freePort, listeningPorts, rssKiB, sleep, start, waitForPort, which, type Spawned } from "./e2e/proc.js";
import { table } from "./stats.js";
import { MAX_CPU_MS } from "../host/sandbox/budget.js";

/** The example bundles of build/plugins (`make build`). */
const EXAMPLES = ["header-canary", "zone-affinity", "version-split", "deny", "drain"] as const;
/** Pass-through plugins built from plugins/drain (draining false: every host offered is kept). */
const TEMPLATE = "drain";
const GENERATED = ["pass-1", "pass-2", "pass-3", "pass-4", "pass-5"] as const;
const LOADED = [...EXAMPLES, ...GENERATED];
/** The route's chain: every loaded plugin but deny (its rules would reject; here they must not even run). */
const ROUTE_CHAIN = ["drain", ...GENERATED, ...CHAIN];
/** The plugin whose call count is the host's count of routed requests (one call per request). */
const COUNTER_PLUGIN = CHAIN[0];
/** Dead hosts get ports from here up, skipping any that something listens on (below the ephemeral range). */
const DEAD_PORT_BASE = 20_000;
const TARGET_MIB = 120;
const TARGET_REQUESTS = 1_000_000;
const BALANCE_REQUESTS = 300;

export interface RssOptions {
  requests: number;
  warmup: number;
  hosts: number;
  connections: number;
  upstream: "nginx" | "node";
  maxMinutes: number;
  /** budget.cpuMs written into the bundles' copies; null keeps their own. */
  pluginCpuMs: number | null;
}

export function rssOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RssOptions {
  const num = (name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = Number(env[name]);
    return env[name] !== undefined && env[name] !== "" && Number.isFinite(v) && v >= min && v <= max ? Math.round(v) : dflt;
  };
  const hosts = num("RSS_HOSTS", 1_000, 3, 65_536);
  return {
    requests: num("RSS_REQUESTS", TARGET_REQUESTS, 1, 4_000_000),
    warmup: num("RSS_WARMUP", 50_000, 0, 4_000_000),
    hosts,
    connections: num("RSS_CONNECTIONS", 64, 1),
    upstream: env.RSS_UPSTREAM === "node" || (env.RSS_UPSTREAM !== "nginx" && which("nginx") === null) ? "node" : "nginx",
    maxMinutes: num("RSS_MAX_MINUTES", 15, 1),
    pluginCpuMs: env.RSS_PLUGIN_CPU_MS === undefined || env.RSS_PLUGIN_CPU_MS === "default" ? null : num("RSS_PLUGIN_CPU_MS", 5, 1, MAX_CPU_MS),
  };
}

/** One reading during the measured run: seconds since it began, requests routed since, RSS. */
export interface Tick {
  seconds: number;
  served: number | null;
  rssKiB: number;
}

export interface RssResult {
  options: RssOptions;
  notes: string[];
  startupKiB: number;
  warmKiB: number;
  endKiB: number;
  ticks: Tick[];
  warmupLoad: LoadResult | null;
  load: LoadResult;
  /** Requests the host routed during the measured run (its own count), null if the admin API did not say. */
  served: number | null;
  /** Balance check: hits per real upstream, then failures. */
  hits: number[];
  /** Plugin calls counted by the host after the balance check. */
  calls: Record<string, number>;
  /** What the host's /metrics said of its memory at start-up, after the warm-up and at the end (null: no answer). */
  memory: { startup: MemoryParts | null; warm: MemoryParts | null; end: MemoryParts | null };
}

/** The host's own account of its memory (GET /metrics), in bytes. */
export interface MemoryParts {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  /** Linear memory of every plugin's live instance. */
  wasm: number;
}

// Every child process is killed when the bench process exits, however it exits.
const live = new Set<Spawned>();
process.once("exit", () => { for (const s of live) if (!s.exited) s.child.kill("SIGKILL"); });

function track(s: Spawned): Spawned {
  live.add(s);
  s.child.once("exit", () => live.delete(s));
  return s;
}

export async function benchRss(root: string, opts: RssOptions = rssOptionsFromEnv()): Promise<RssResult> {
  const loadScript = join(root, "dist/bench/e2e/load.js");
  if (!existsSync(loadScript)) throw new Error(`${loadScript} is missing: run make build first`);
  for (const name of EXAMPLES) {
    if (!existsSync(join(root, "build/plugins", name, "metadata.json"))) throw new Error(`build/plugins/${name} is missing: run make build first`);
  }
  const notes: string[] = [];
  const generated = generatedBundles(root, notes);
  const tmp = mkdtempSync(join(tmpdir(), "switchyard-rss-"));
  const procs: Spawned[] = [];
  try {
    const upstreamPorts = [await freePort(), await freePort(), await freePort()];
    const upstream = track(startUpstreams(root, tmp, opts, upstreamPorts, await freePort(), notes));
    procs.push(upstream);
    for (const p of upstreamPorts) await waitForPort(p, 10_000, upstream);

    const pluginsDir = join(tmp, "plugins");
    for (const name of EXAMPLES) cpSync(join(root, "build/plugins", name), join(pluginsDir, name), { recursive: true });
    GENERATED.forEach((name, i) => cpSync(generated[i]!, join(pluginsDir, name), { recursive: true }));
    if (opts.pluginCpuMs !== null) for (const name of LOADED) setCpuMs(join(pluginsDir, name), opts.pluginCpuMs);
    notes.push(
      opts.pluginCpuMs !== null
        ? `plugin budget: ${opts.pluginCpuMs} ms per call (budget.cpuMs in every bundle's copy, RSS_PLUGIN_CPU_MS)`
        : "plugin budget: the bundles' own, the host's defaults (set RSS_PLUGIN_CPU_MS=N to override)",
    );

    const port = await freePort();
    const adminPort = await freePort();
    const hosts = clusterHosts(opts.hosts, upstreamPorts, new Set([...listeningPorts(), port, adminPort]));
    const configFile = join(tmp, "switchyard.json");
    writeFileSync(configFile, JSON.stringify(switchyardConfig(root, port, adminPort, hosts)));
    // Log level error: a refused bundle says why in the failure message, and nothing is logged otherwise.
    const args = [join(root, "bin/switchyard.js"), "run", "--config", configFile, "--plugins", pluginsDir, "--log-level", "error"];
    const proxy = track(start("switchyard", process.execPath, args, null));
    procs.push(proxy);
    await waitForPort(port, 30_000, proxy);
    await waitForPort(adminPort, 60_000, proxy);
    notes.push(`cluster: ${hosts.length.toLocaleString("en-US")} hosts, 3 real upstreams (version=v1, zone=a) + ${(hosts.length - 3).toLocaleString("en-US")} at 127.0.0.1 ports nothing listens on (zone=b)`);
    notes.push(`route chain (${ROUTE_CHAIN.length} plugins): ${ROUTE_CHAIN.join(", ")}; loaded but not in the chain: deny`);
    notes.push(`load: undici load generator (bench/e2e/load.ts), ${opts.connections} connections, not pinned`);

    const admin = new Pool(`http://127.0.0.1:${adminPort}`, { connections: 1 });
    try {
      await waitLoaded(admin, proxy);
      const startupKiB = readRss(proxy);
      const startupParts = await memoryParts(admin);
      const url = `http://127.0.0.1:${port}/`;
      const hits = await balanceCheck(url, upstreamPorts.length);
      // Failed plugin calls first: they are why requests reach dead hosts (failure policy open skips them).
      const checked = await plugins(admin);
      const failing = failures(checked);
      if (failing !== "") throw new Error(`plugin calls failed during the balance check: ${failing} (hits u1/u2/u3/failed ${hits.join("/")}); with ${int(opts.hosts)} hosts a budget failure is the host table's load (sy_set_hosts): raise RSS_PLUGIN_CPU_MS`);
      if (!balanced(hits) || hits[hits.length - 1] !== 0) {
        throw new Error(`balance check failed (hits u1/u2/u3/failed ${hits.join("/")}): some requests did not reach a real upstream`);
      }
      const calls = Object.fromEntries(checked.map((p) => [p.name, p.calls]));
      const spec = (maxRequests: number, durationMs: number): LoadSpec => ({ url, connections: opts.connections, durationMs, headers: { ...REQUEST_HEADERS }, maxRequests });
      let warmupLoad: LoadResult | null = null;
      if (opts.warmup > 0) warmupLoad = await runLoad("node", spec(opts.warmup, 5 * 60_000), null, loadScript);
      const warmKiB = readRss(proxy);
      const warmParts = await memoryParts(admin);

      const base = await routed(admin);
      const sampler = startSampler(proxy.pid, async () => {
        const n = await routed(admin);
        return n === null || base === null ? null : n - base;
      });
      let load: LoadResult;
      let ticks: Tick[];
      try {
        load = await runLoad("node", spec(opts.requests, opts.maxMinutes * 60_000), null, loadScript);
      } finally {
        // Stopped whatever happened: a running interval would keep this process alive.
        ticks = await sampler.stop();
      }
      if (proxy.exited) throw new Error(`switchyard exited during the run: ${proxy.output().slice(-600)}`);
      const endKiB = readRss(proxy);
      const endParts = await memoryParts(admin);
      const after = await routed(admin);
      const failedInRun = failures(await plugins(admin));
      if (failedInRun !== "") notes.push(`PLUGIN FAILURES by the end of the run: ${failedInRun}`);
      if (load.requests < opts.requests) notes.push(`the measured run stopped at its ${opts.maxMinutes}-minute bound after ${load.requests.toLocaleString("en-US")} requests`);
      return {
        options: opts,
        notes,
        startupKiB,
        warmKiB,
        endKiB,
        ticks,
        warmupLoad,
        load,
        served: after === null || base === null ? null : after - base,
        hits,
        calls,
        memory: { startup: startupParts, warm: warmParts, end: endParts },
      };
    } finally {
      await admin.destroy();
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Sets budget.cpuMs in a bundle folder's metadata.json (not covered by the sha256, which is the wasm's). */
function setCpuMs(bundleDir: string, cpuMs: number): void {
  const file = join(bundleDir, "metadata.json");
  const m = JSON.parse(readFileSync(file, "utf8")) as { budget?: Record<string, number> };
  // Without fuel: with both, the host takes the smaller.
  const { fuel: _ignored, ...rest } = m.budget ?? {};
  m.budget = { ...rest, cpuMs };
  writeFileSync(file, JSON.stringify(m, null, 2));
}

function readRss(proc: Spawned): number {
  const kib = rssKiB(proc.pid);
  if (kib === null) throw new Error(`switchyard (pid ${proc.pid}) is gone: ${proc.output().slice(-600)}`);
  return kib;
}

function startUpstreams(root: string, tmp: string, opts: RssOptions, ports: number[], statusPort: number, notes: string[]): Spawned {
  if (opts.upstream === "nginx") {
    const dir = join(tmp, "upstream");
    notes.push("upstreams: nginx `return 200` on three ports (one worker)");
    return start("nginx upstreams", "nginx", ["-p", dir, "-c", nginxUpstreamConfig(dir, ports, statusPort), "-e", join(dir, "error.log")], null);
  }
  notes.push(`upstreams: three node:http servers in one process${which("nginx") === null ? " (nginx not installed)" : ""}`);
  return start("node upstreams", process.execPath, [join(root, "dist/bench/e2e/upstream.js"), String(statusPort), ...ports.map(String)], null);
}

type HostEntry = { address: string; metadata: Record<string, string> };

/** The real upstreams, kept by the chain, then dead hosts up to `n` that zone-affinity drops. */
function clusterHosts(n: number, upstreamPorts: readonly number[], taken: ReadonlySet<number>): HostEntry[] {
  const hosts: HostEntry[] = upstreamPorts.map((p) => ({ address: `127.0.0.1:${p}`, metadata: { version: "v1", zone: "a" } }));
  for (let port = DEAD_PORT_BASE; hosts.length < n; port++) {
    if (port > 65_535) throw new Error(`not enough free ports above ${DEAD_PORT_BASE} for ${n} hosts`);
    // version=v1 as the real ones: only the zone tells them apart, so zone-affinity alone must drop them.
    if (!taken.has(port) && !upstreamPorts.includes(port)) hosts.push({ address: `127.0.0.1:${port}`, metadata: { version: "v1", zone: "b" } });
  }
  return hosts;
}

/** bench/e2e/switchyard.json with this run's ports, hosts and chain. */
function switchyardConfig(root: string, port: number, adminPort: number, hosts: HostEntry[]): unknown {
  const c = JSON.parse(readFileSync(join(root, "bench/e2e/switchyard.json"), "utf8"));
  c.servers[0].listeners[0].address = `127.0.0.1:${port}`;
  c.cluster_manager.clusters[0].hosts = hosts;
  c.admin.address = `127.0.0.1:${adminPort}`;
  c.servers[0].routers[0].virtual_hosts[0].routers[0].route.switchyard.plugins = [...ROUTE_CHAIN];
  return c;
}

// --- generated plugins ----------------------------------------------------------------------------------

/**
 * The five pass-through bundles, in build/bench-plugins/bundles/<name>: plugins/drain's source with its name
 * rewritten, built with `switchyard build`. A bundle newer than every file of the template and the SDK is
 * reused: a build takes seconds each.
 */
function generatedBundles(root: string, notes: string[]): string[] {
  const template = join(root, "plugins", TEMPLATE);
  const sources = Math.max(newestMtime(template), newestMtime(join(root, "sdk/assembly")));
  const built: string[] = [];
  const dirs = GENERATED.map((name) => {
    const src = join(root, "build/bench-plugins/src", name);
    const out = join(root, "build/bench-plugins/bundles", name);
    if (!fresh(out, name, sources)) {
      writeSource(root, template, src, name);
      buildBundle(root, src, out, name);
      built.push(name);
    }
    return out;
  });
  const what = `${GENERATED.length} pass-through plugins generated from plugins/${TEMPLATE} (${GENERATED.join(", ")})`;
  notes.push(built.length > 0 ? `${what}: built now (${built.join(", ")})` : `${what}: cached in build/bench-plugins`);
  return dirs;
}

function fresh(out: string, name: string, sourcesMtime: number): boolean {
  try {
    const meta = join(out, "metadata.json");
    if (!existsSync(join(out, "plugin.wasm"))) return false;
    return statSync(meta).mtimeMs > sourcesMtime && (JSON.parse(readFileSync(meta, "utf8")) as { name?: string }).name === name;
  } catch {
    return false;
  }
}

/** The template's source under another name; its SDK imports rewritten for the new folder's depth. */
function writeSource(root: string, template: string, src: string, name: string): void {
  const text = readFileSync(join(template, "assembly", "index.ts"), "utf8");
  const renamed = text.replace(`return "${TEMPLATE}";`, `return "${name}";`);
  if (renamed === text) throw new Error(`plugins/${TEMPLATE}/assembly/index.ts has no 'return "${TEMPLATE}";' to rename: update bench/rss.ts`);
  const sdk = relative(join(src, "assembly"), join(root, "sdk/assembly"));
  const rewritten = renamed.replaceAll(`"../../../sdk/assembly`, `"${sdk}`);
  mkdirSync(join(src, "assembly"), { recursive: true });
  writeFileSync(join(src, "assembly", "index.ts"), `// Generated by bench/rss.ts from plugins/${TEMPLATE}: the same plugin named ${name}.\n${rewritten}`);
  cpSync(join(template, "plugin.json"), join(src, "plugin.json"));
}

function buildBundle(root: string, src: string, out: string, name: string): void {
  const r = spawnSync(process.execPath, [join(root, "bin/switchyard.js"), "build", src, "--out", out], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`generated plugin ${name} did not build: ${`${r.stderr ?? ""}${r.error?.message ?? ""}`.trim().slice(-600)}`);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

// --- admin API and checks -------------------------------------------------------------------------------

interface PluginInfo {
  name: string;
  state: string;
  calls: number;
  failures: number;
  failuresByKind: Record<string, number>;
}

/** "drain 5 (budget 5), …" for every plugin with failed calls; "" when none failed. */
function failures(list: readonly PluginInfo[]): string {
  return list
    .filter((p) => p.failures > 0)
    .map((p) => `${p.name} ${p.failures} (${Object.entries(p.failuresByKind).map(([k, n]) => `${k} ${n}`).join(", ")})`)
    .join(", ");
}

async function plugins(admin: Pool): Promise<PluginInfo[]> {
  const r = await admin.request({ path: "/plugins", method: "GET" });
  if (r.statusCode !== 200) {
    await r.body.dump();
    throw new Error(`admin GET /plugins answered ${r.statusCode}`);
  }
  return ((await r.body.json()) as { plugins: PluginInfo[] }).plugins;
}

/** The memory gauges of GET /metrics; null if the admin API did not answer with them. */
async function memoryParts(admin: Pool): Promise<MemoryParts | null> {
  try {
    const r = await admin.request({ path: "/metrics", method: "GET" });
    const text = await r.body.text();
    const one = (name: string) => {
      const m = new RegExp(`^${name} ([0-9.e+]+)$`, "m").exec(text);
      if (m === null) throw new Error(`no ${name}`);
      return Number(m[1]);
    };
    let wasm = 0;
    for (const m of text.matchAll(/^switchyard_plugin_memory_bytes\{[^}]*\} ([0-9.e+]+)$/gm)) wasm += Number(m[1]);
    return { rss: one("process_resident_memory_bytes"), heapTotal: one("nodejs_heap_size_total_bytes"), heapUsed: one("nodejs_heap_size_used_bytes"), external: one("nodejs_external_memory_bytes"), wasm };
  } catch {
    return null;
  }
}

/** Requests routed so far: the call count of the chain's counter plugin; null if the admin API failed. */
async function routed(admin: Pool): Promise<number | null> {
  try {
    return (await plugins(admin)).find((p) => p.name === COUNTER_PLUGIN)?.calls ?? null;
  } catch {
    return null;
  }
}

/** Waits until all ten plugins are loaded and ready; the watcher may still be settling a fresh copy. */
async function waitLoaded(admin: Pool, proxy: Spawned): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const list = await plugins(admin);
    const ready = new Set(list.filter((p) => p.state === "ready").map((p) => p.name));
    const missing = LOADED.filter((n) => !ready.has(n));
    if (missing.length === 0) return;
    if (Date.now() > deadline || proxy.exited) {
      const loaded = list.map((p) => `${p.name} (${p.state})`).join(", ") || "none";
      throw new Error(`${LOADED.length - missing.length} of ${LOADED.length} plugins loaded and ready; missing: ${missing.join(", ")}; GET /plugins: ${loaded}. Switchyard said: ${proxy.output().slice(-600) || "nothing"}`);
    }
    await sleep(200);
  }
}

/** 300 requests, 4 at a time; the body names the upstream that answered ("u1\n"…), the last slot counts failures. */
async function balanceCheck(url: string, upstreams: number): Promise<number[]> {
  const hits = new Array<number>(upstreams + 1).fill(0);
  const pool = new Pool(new URL(url).origin, { connections: 4 });
  let left = BALANCE_REQUESTS;
  const worker = async () => {
    while (left-- > 0) {
      try {
        const r = await pool.request({ path: "/", method: "GET", headers: { ...REQUEST_HEADERS } });
        const m = /^u(\d+)$/.exec((await r.body.text()).trim());
        const i = m ? Number(m[1]) - 1 : -1;
        hits[r.statusCode === 200 && i >= 0 && i < upstreams ? i : upstreams]!++;
      } catch {
        hits[upstreams]!++;
      }
    }
  };
  try {
    await Promise.all([worker(), worker(), worker(), worker()]);
  } finally {
    await pool.destroy();
  }
  return hits;
}

/** Reads RSS and the routed count once a second until stopped; a slow admin answer skips a tick, never stacks. */
function startSampler(pid: number, served: () => Promise<number | null>): { stop(): Promise<Tick[]> } {
  const ticks: Tick[] = [];
  const t0 = performance.now();
  let pending: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (pending !== null) return;
    const rss = rssKiB(pid);
    const seconds = (performance.now() - t0) / 1000;
    pending = served()
      .then((n) => { if (rss !== null) ticks.push({ seconds, served: n, rssKiB: rss }); })
      .finally(() => { pending = null; });
  }, 1_000);
  return {
    stop: async () => {
      clearInterval(timer);
      await pending;
      return ticks;
    },
  };
}

// --- report ---------------------------------------------------------------------------------------------

const mib = (kib: number) => kib / 1024;
const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** The first tick at or past `share` of the run, by the host's count (or by time when it has none). */
function tickAt(r: RssResult, share: number): Tick | undefined {
  const byCount = r.ticks.every((t) => t.served !== null);
  return r.ticks.find((t) => (byCount ? t.served! >= share * r.options.requests : t.seconds >= share * r.load.seconds));
}

export function formatRss(r: RssResult): string {
  const o = r.options;
  const out: string[] = [];
  out.push(`One Switchyard process, ten plugins loaded, ${int(o.hosts)} hosts; ${int(o.warmup)} warm-up requests, then ${int(o.requests)} measured; VmRSS read every second (MB = MiB).`);
  for (const n of r.notes) out.push(`- ${n}`);
  out.push("");
  const endServed = r.served ?? r.load.requests;
  const rows: (string | number)[][] = [
    ["start-up (plugins loaded, idle)", "-", "-", mib(r.startupKiB).toFixed(1)],
    [`after warm-up (${int(r.warmupLoad?.requests ?? 0)} requests)`, "0", "-", mib(r.warmKiB).toFixed(1)],
  ];
  for (const q of [0.25, 0.5, 0.75]) {
    const t = tickAt(r, q);
    rows.push([`${q * 100}%`, t?.served !== null && t !== undefined ? int(t.served) : "-", t ? t.seconds.toFixed(1) : "-", t ? mib(t.rssKiB).toFixed(1) : "-"]);
  }
  rows.push(["100% (end of the run)", int(endServed), r.load.seconds.toFixed(1), mib(r.endKiB).toFixed(1)]);
  const maxKiB = Math.max(r.startupKiB, r.warmKiB, r.endKiB, ...r.ticks.map((t) => t.rssKiB));
  rows.push(["max", "-", "-", mib(maxKiB).toFixed(1)]);
  out.push(table(["point", "requests since warm-up", "seconds", "RSS MB"], rows));
  if ([0.25, 0.5, 0.75].some((q) => tickAt(r, q) === undefined)) out.push("(-: no reading there, the run was shorter than a few one-second ticks)");
  out.push("");
  const growth = mib(r.endKiB - r.warmKiB);
  const half = tickAt(r, 0.5);
  out.push(`- growth from warm-up to end: ${signed(growth)} MB (${signed((100 * (r.endKiB - r.warmKiB)) / r.warmKiB)}%)${half ? `; over the second half (50% → end): ${signed(mib(r.endKiB - half.rssKiB))} MB` : ""}`);
  out.push(`- RSS at each tenth of the run (MB): ${tenths(r)}`);
  out.push(`- requests: ${int(r.load.requests)} measured (host counted ${r.served === null ? "-" : int(r.served)}), after ${int(r.warmupLoad?.requests ?? 0)} warm-up and ${BALANCE_REQUESTS} balance-check requests; errors ${int(r.load.errors + (r.warmupLoad?.errors ?? 0))}; ${int(r.load.requests / r.load.seconds)} req/s; p50 ${r.load.p50Ms.toFixed(2)} ms, p99 ${r.load.p99Ms.toFixed(2)} ms`);
  const chainCalls = ROUTE_CHAIN.map((n) => r.calls[n] ?? 0);
  const callsOk = chainCalls.every((c) => c === BALANCE_REQUESTS) && (r.calls.deny ?? 0) === 0;
  out.push(`- balance check: ${balanced(r.hits) ? "ok" : "NOT BALANCED"} u1/u2/u3/failed ${r.hits.join("/")}; plugin calls after it: ${ROUTE_CHAIN.length} chain plugins ${[...new Set(chainCalls)].join("/")} each (${BALANCE_REQUESTS} expected), deny ${r.calls.deny ?? 0}${callsOk ? "" : " — NOT as expected"}`);
  const parts = [["start-up", r.memory.startup], ["after warm-up", r.memory.warm], ["end of the run", r.memory.end]] as const;
  if (parts.some(([, m]) => m !== null)) {
    out.push("");
    out.push("What the host says its memory is (GET /metrics, MB): V8 heap in use of the heap's size, Buffers and ArrayBuffers (external), the plugins' linear memory (wasm), and the rest of the RSS (code, stacks, malloc, the heap's free space counted in neither):");
    out.push("");
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    out.push(table(["point", "RSS", "heap used", "heap size", "external", "wasm", "rest"], parts.map(([label, m]) => (m === null ? [label, "-", "-", "-", "-", "-", "-"] : [label, mb(m.rss), mb(m.heapUsed), mb(m.heapTotal), mb(m.external), mb(m.wasm), mb(m.rss - m.heapTotal - m.external - m.wasm)]))));
  }
  out.push("");
  out.push("Target of issue 6:");
  const endMib = mib(r.endKiB);
  const verdict = endMib <= TARGET_MIB ? "met" : `missed by ${((endMib / TARGET_MIB - 1) * 100).toFixed(0)}%`;
  const short = endServed < TARGET_REQUESTS ? ` (this run: ${int(endServed)} requests, fewer than the target's)` : "";
  out.push(`- RSS ≤ ${TARGET_MIB} MB after ${int(TARGET_REQUESTS)} requests: ${endMib.toFixed(1)} MB → ${verdict}${short}`);
  out.push(`- growth after warm-up: ${signed(growth)} MB (no growth expected)`);
  return out.join("\n");
}

function signed(n: number): string {
  return `${n >= 0 ? "+" : ""}${n.toFixed(1)}`;
}

function tenths(r: RssResult): string {
  const cells: string[] = [];
  for (let i = 1; i <= 9; i++) {
    const t = tickAt(r, i / 10);
    cells.push(t ? mib(t.rssKiB).toFixed(1) : "-");
  }
  cells.push(mib(r.endKiB).toFixed(1));
  return cells.join(" ");
}

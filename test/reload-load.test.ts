// Under load: 8 clients send requests through the proxy while the header-canary bundle folder is rewritten 50
// times (file by file) and 500 configs are pushed over the admin API. Every request must succeed and be routed
// by a config that was in effect while it was in flight: push k sends canary requests to the hosts tagged
// version=["a","b","c"][k % 3] and the others anywhere else, and the upstream that answered says its tag.

import { existsSync, watch } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { Changes } from "./helpers/changes.js";
import { canaryVariant, hostConfig, memoryLog, replaceFile } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const TOKEN = "load-test-token";
const PUSHES = 500;
const SWAPS = 50;
const CLIENTS = 8;
const TAGS = ["a", "b", "c"] as const;
const tagOf = (v: number): string => (v === 0 ? "d|e" : TAGS[v % 3]!);
const configOf = (v: number): string => JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue: TAGS[v % 3], others: "non-canary" });

let root: string;
let host: SwitchyardHost;
let upstreams: Upstream[];
const logs: Record<string, unknown>[] = [];
const tagOfUpstream = new Map<string, string>();
/** Told when a plugin is installed, a swap is done or a request answered: what the loops below wait for. */
const changes = new Changes();

beforeAll(async () => {
  // On tmpfs when there is one: 500 pushes are 1000 fsyncs, which a busy disk makes the slowest part by far.
  // (The crash test, test/state-crash.test.ts, persists to the ordinary temp folder.)
  root = await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "switchyard-reload-load-"));
  upstreams = [];
  // Two hosts per pushed tag, one per default config tag (d: variant A, e: variant B).
  for (const tag of ["a", "a", "b", "b", "c", "c", "d", "e"]) {
    const u = await startUpstream(`${tag}${upstreams.length}`);
    upstreams.push(u);
    tagOfUpstream.set(u.name, tag);
  }
  await canaryVariant(join(root, "plugins", "header-canary"), { version: "1.0.0", tagValue: "d" });
  const cfg = hostConfig({ hosts: upstreams.map((u) => ({ address: u.address, tags: { version: tagOfUpstream.get(u.name)! } })) });
  const { config } = parseConfig(JSON.stringify(cfg), "load.json");
  host = new SwitchyardHost({
    config,
    pluginsDir: join(root, "plugins"),
    stateDir: join(root, "state"),
    logger: pino({ level: "info" }, memoryLog(logs)),
    env: { SWITCHYARD_ADMIN_TOKEN: TOKEN },
    watchTiming: { debounceMs: 50, pollMs: 100 },
  });
  await host.start();
  host.registry.onChange(() => changes.notify());
});

afterAll(async () => {
  for (const s of host?.servers ?? []) s.server.closeAllConnections();
  await host?.stop();
  await Promise.all(upstreams.map((u) => u.close()));
  await rm(root, { recursive: true, force: true });
});

interface Sample {
  readonly t0: number;
  readonly t1: number;
  readonly canary: boolean;
  readonly status: number;
  readonly upstream: string | null;
  readonly error: string | null;
}

describe("hot reload under load", () => {
  it(`serves every request through ${SWAPS} bundle swaps and ${PUSHES} pushes, each routed by a config in effect`, async () => {
    const proxy = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
    const admin = `http://127.0.0.1:${host.adminAddress!.port}`;
    const dispatcher = new Agent({ connections: CLIENTS * 2, keepAliveTimeout: 30_000 });
    const sentAt: number[] = [0];
    const answeredAt: number[] = [0];
    let swapsDone = 0;
    let stop = false;
    const deadline = performance.now() + 90_000;

    const samples: Sample[] = [];
    const client = async (id: number) => {
      // Bounded in count and time.
      for (let i = 0; i < 20_000 && !stop && performance.now() < deadline; i++) {
        const canary = (i + id) % 2 === 0;
        const t0 = performance.now();
        try {
          const res = await request(`${proxy}/x`, { dispatcher, headers: canary ? { "x-canary": "1" } : {} });
          const text = await res.body.text();
          const t1 = performance.now();
          let upstream: string | null = null;
          try {
            upstream = (JSON.parse(text) as { upstream: string }).upstream;
          } catch {
            upstream = null;
          }
          samples.push({ t0, t1, canary, status: res.statusCode, upstream, error: res.statusCode === 200 ? null : text.slice(0, 200) });
        } catch (err) {
          samples.push({ t0, t1: performance.now(), canary, status: 0, upstream: null, error: (err as Error).message });
        }
        changes.notify();
      }
    };

    const pushes: { status: number; version: unknown }[] = [];
    const pushLoop = async () => {
      for (let k = 1; k <= PUSHES && performance.now() < deadline; k++) {
        // Spread the pushes over the swaps: about ten pushes per swap.
        const swaps = Math.min(SWAPS, Math.floor((k * SWAPS) / PUSHES)) - 1;
        await changes.until(`swap ${swaps} before push ${k}`, () => swapsDone >= swaps);
        sentAt[k] = performance.now();
        const res = await request(`${admin}/plugins/header-canary/config`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: configOf(k) });
        const body = (await res.body.json()) as { configVersion?: unknown };
        answeredAt[k] = performance.now();
        pushes.push({ status: res.statusCode, version: body.configVersion });
        if (res.statusCode !== 200) break;
      }
    };

    const bundleDir = join(root, "plugins", "header-canary");
    const variants = [join(root, "variant-a"), join(root, "variant-b")];
    await canaryVariant(variants[0]!, { version: "1.0.0", tagValue: "d" });
    await canaryVariant(variants[1]!, { version: "1.0.1", tagValue: "e" });
    const swapTimes: number[] = [];
    const swapLoop = async () => {
      for (let s = 1; s <= SWAPS && performance.now() < deadline; s++) {
        const from = variants[s % 2]!;
        const want = s % 2 === 1 ? "1.0.1" : "1.0.0";
        const started = performance.now();
        // File by file (each file whole): the watcher must wait for the folder to settle.
        // The new wasm is announced to watchers of the folder (the host's among them) before metadata.json follows.
        const announced = renamed(bundleDir, "plugin.wasm");
        await replaceFile(join(bundleDir, "plugin.wasm"), await readFile(join(from, "plugin.wasm")));
        await announced;
        await replaceFile(join(bundleDir, "metadata.json"), await readFile(join(from, "metadata.json")));
        await changes.until(`swap ${s} to ${want}`, () => host.registry.get("header-canary")?.version === want);
        swapTimes.push(performance.now() - started);
        swapsDone = s;
        changes.notify();
      }
    };

    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
    await Promise.all([pushLoop(), swapLoop()]);
    // Two requests per client started after the last change, then stop the clients.
    const settled = performance.now();
    await changes.until("requests after the last change", () => samples.filter((x) => x.t0 > settled).length >= 2 * CLIENTS);
    stop = true;
    await Promise.all(clients);
    await dispatcher.close();

    // Every push answered 200 with the next version; every swap landed.
    expect(pushes.length).toBe(PUSHES);
    expect(pushes.filter((p) => p.status !== 200)).toEqual([]);
    expect(pushes.map((p) => p.version)).toEqual(Array.from({ length: PUSHES }, (_, i) => i + 1));
    expect(swapsDone).toBe(SWAPS);
    const swapped = logs.filter((l) => l.event === "swapped" && l.plugin === "header-canary");
    expect(swapped.length).toBeGreaterThanOrEqual(SWAPS);
    // The folder was always complete when the watcher looked (same wasm, so a half copy would be E_BUNDLE_SHA256).
    expect(logs.filter((l) => l.event === "refused")).toEqual([]);

    // 0 failed requests, each routed by a config in effect while it was in flight.
    const failed = samples.filter((s) => s.status !== 200 || s.upstream === null);
    expect(failed.slice(0, 5)).toEqual([]);
    expect(samples.length).toBeGreaterThan(1000);
    const misrouted: unknown[] = [];
    for (const s of samples) {
      // In effect at t0: at least the last push answered before it; at most the last push sent before t1.
      let low = 0;
      let high = 0;
      for (let k = 1; k < sentAt.length; k++) {
        if (answeredAt[k]! <= s.t0) low = k;
        if (sentAt[k]! <= s.t1) high = k;
      }
      const tag = tagOfUpstream.get(s.upstream!)!;
      let ok = false;
      for (let v = low; v <= high && !ok; v++) {
        const wanted = tagOf(v).split("|");
        // Version 0 is a default config (d or e, by variant); the others go to any host not of the canary tag.
        ok = s.canary ? wanted.includes(tag) : v === 0 || tag !== wanted[0];
      }
      if (!ok) misrouted.push({ canary: s.canary, tag, low, high });
    }
    expect(misrouted.slice(0, 5)).toEqual([]);

    // The last push is what serves and what a restart would read.
    expect(host.registry.get("header-canary")?.configVersion).toBe(PUSHES);
    const saved = JSON.parse(await readFile(join(root, "state", "plugins", "header-canary.json"), "utf8")) as { version: number; config: string };
    expect(saved).toMatchObject({ version: PUSHES, config: configOf(PUSHES) });
    const hits = samples.filter((s) => s.canary && s.t0 > answeredAt[PUSHES]!);
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(tagOfUpstream.get(h.upstream!)).toBe(TAGS[PUSHES % 3]);

    console.log(
      `reload-load: ${samples.length} requests (${failed.length} failed, ${misrouted.length} misrouted), ${pushes.length} pushes, ${swapsDone} swaps ` +
        `(${swapped.length} swap log lines, median swap ${median(swapTimes).toFixed(0)} ms)`,
    );
  }, 120_000);
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Resolves when fs.watch reports a rename of `name` in `dir` (a file replaced by a rename onto it). */
function renamed(dir: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = watch(dir, (event, file) => {
      if (event !== "rename" || file !== name) return;
      w.close();
      resolve();
    });
    w.on("error", reject);
  });
}

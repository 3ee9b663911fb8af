// `switchyard run --workers 2`: both workers share the listener; a push, a host list and a bundle swap reach
// both, and the admin answer says so (appliedWorkers). Each answer carries the pid of the worker that routed
// it (SWITCHYARD_WORKER_HEADER), and requests go over fresh connections so that both workers are hit.

import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canaryVariant, get, hostConfig, put, REPO, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const TOKEN = "workers-token";
const HEADER = "x-switchyard-worker";
const auth = { authorization: `Bearer ${TOKEN}` };
let root: string;
let upstreams: Upstream[];
let p: HostProcess;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-workers-"));
  upstreams = [await startUpstream("canary0"), await startUpstream("stable0"), await startUpstream("stable1")];
  await canaryVariant(join(root, "plugins", "header-canary"), { version: "1.0.0", tagValue: "canary" });
  const configFile = join(root, "switchyard.json");
  const cfg = hostConfig({
    hosts: upstreams.map((u) => ({ address: u.address, tags: { version: u.name.replace(/\d+$/, "") } })),
    pluginsDir: join(root, "plugins"),
    stateDir: join(root, "state"),
  });
  await writeFile(configFile, JSON.stringify(cfg));
  p = await spawnHost({ configFile, args: ["--workers", "2"], env: { SWITCHYARD_ADMIN_TOKEN: TOKEN, SWITCHYARD_WORKER_HEADER: HEADER } });
}, 90_000);

afterAll(async () => {
  if (p) {
    p.kill("SIGTERM");
    await p.exited;
  }
  await Promise.all((upstreams ?? []).map((u) => u.close()));
  await rm(root, { recursive: true, force: true });
});

/** Requests over fresh connections until both workers answered `perWorker` times (bounded); upstreams by pid. */
async function byWorker(headers: Record<string, string>, perWorker = 3): Promise<Map<string, Set<string>>> {
  const seen = new Map<string, Set<string>>();
  const count = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const r = await get(`${p.listenerUrl}/w`, headers);
    const pid = String(r.headers[HEADER]);
    const answer = r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : `${r.status} ${r.body.trim()}`;
    if (!seen.has(pid)) seen.set(pid, new Set());
    seen.get(pid)!.add(answer);
    count.set(pid, (count.get(pid) ?? 0) + 1);
    if (count.size >= 2 && [...count.values()].every((n) => n >= perWorker)) break;
  }
  return seen;
}

/**
 * Waits until each process of `pids` has logged a line `pred` accepts: each worker (and the primary) watches the
 * plugins folder and logs its own loads, after installing them.
 */
async function loggedBy(pids: readonly number[], what: string, pred: (line: Record<string, unknown>) => boolean): Promise<void> {
  for (const pid of pids) await p.waitForLog(`${what} in process ${pid}`, (l) => l.pid === pid && pred(l));
}

const asObject = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]));

async function workers(): Promise<{ pid: number; state: string; plugins: { name: string; version: string; configVersion: number }[]; clusters: { name: string; hostsVersion: number; hosts: number }[] }[]> {
  const res = await request(`${p.adminUrl}/workers`);
  return ((await res.body.json()) as { workers: never[] }).workers;
}

describe("--workers 2", () => {
  it("runs two workers on one shared listener, each routing", async () => {
    const listeners = p.logs.filter((l) => l.msg === "listener started");
    expect(listeners).toHaveLength(2);
    expect(new Set(listeners.map((l) => l.address)).size).toBe(1);
    const pids = listeners.map((l) => String(l.pid)).sort();
    const seen = await byWorker({ "x-canary": "1" });
    expect([...seen.keys()].sort()).toEqual(pids);
    expect(asObject(seen)).toEqual(Object.fromEntries(pids.map((pid) => [pid, ["canary0"]])));
    expect((await workers()).map((w) => String(w.pid)).sort()).toEqual(pids);
  });

  it("a push is applied by every worker before the admin answers", async () => {
    const r = await put(`${p.adminUrl}/plugins/header-canary/config`, JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue: "stable" }), auth);
    expect(r).toEqual({ status: 200, json: { plugin: "header-canary", configVersion: 1, appliedWorkers: 2 } });
    // No waiting: both workers already route by it.
    const seen = await byWorker({ "x-canary": "1" });
    expect(seen.size).toBe(2);
    for (const [, answers] of seen) expect([...answers].every((a) => a.startsWith("stable"))).toBe(true);
    expect((await workers()).map((w) => w.plugins.map((x) => x.configVersion))).toEqual([[1], [1]]);

    // A rejected push reaches no worker and changes nothing.
    const bad = await put(`${p.adminUrl}/plugins/header-canary/config`, JSON.stringify({ values: ["1"] }), auth);
    expect(bad.status).toBe(400);
    expect((await workers()).map((w) => w.plugins.map((x) => x.configVersion))).toEqual([[1], [1]]);
  });

  it("a host list is applied by every worker and persisted by the primary", async () => {
    const body = JSON.stringify([{ address: upstreams[1]!.address, metadata: { version: "stable" } }, { address: upstreams[0]!.address, metadata: { version: "canary" } }]);
    const r = await put(`${p.adminUrl}/clusters/c/hosts`, body, auth);
    expect(r).toEqual({ status: 200, json: { cluster: "c", version: 1, hosts: 2, appliedWorkers: 2 } });
    const seen = await byWorker({ "x-canary": "1" });
    expect(seen.size).toBe(2);
    for (const [, answers] of seen) expect([...answers]).toEqual(["stable0"]);
    expect((await workers()).map((w) => w.clusters)).toEqual([[{ name: "c", hostsVersion: 1, hosts: 2 }], [{ name: "c", hostsVersion: 1, hosts: 2 }]]);
    const saved = JSON.parse(await readFile(join(root, "state", "clusters", "c.json"), "utf8")) as { version: number };
    expect(saved.version).toBe(1);
  });

  it("a bundle swap and a new bundle reach both workers", async () => {
    // Swap: header-canary 1.0.0 → 1.0.1, keeping the pushed config (version 1).
    const dir = join(root, "plugins", "header-canary");
    const meta = JSON.parse(await readFile(join(dir, "metadata.json"), "utf8")) as Record<string, unknown>;
    const pids = (await workers()).map((w) => w.pid);
    await writeFile(join(dir, "metadata.json"), JSON.stringify({ ...meta, version: "1.0.1" }));
    await loggedBy(pids, "the swap to 1.0.1", (l) => l.event === "swapped" && l.plugin === "header-canary" && l.version === "1.0.1");
    const ws = await workers();
    expect(ws.map((w) => w.plugins.map((x) => `${x.name}@${x.version}#${x.configVersion}`))).toEqual([["header-canary@1.0.1#1"], ["header-canary@1.0.1#1"]]);

    // New bundle: deny answers 403 for x-client: bad-bot, in both workers.
    await cp(join(REPO, "build/plugins/deny"), join(root, "plugins", "deny"), { recursive: true });
    // The primary watches the folder too (it validates pushes against the bundles); on a busy machine it may
    // load deny after the workers.
    await loggedBy([...pids, p.child.pid!], "deny loaded", (l) => l.event === "loaded" && l.plugin === "deny");
    expect((await workers()).map((w) => w.plugins.map((x) => x.name).sort())).toEqual([["deny", "header-canary"], ["deny", "header-canary"]]);
    const seen = await byWorker({ "x-client": "bad-bot" });
    expect(seen.size).toBe(2);
    for (const [, answers] of seen) expect([...answers]).toEqual(["403 denied"]);
    const primary = ((await (await request(`${p.adminUrl}/plugins`)).body.json()) as { plugins: { name: string }[] }).plugins.map((x) => x.name);
    expect(primary).toEqual(["deny", "header-canary"]);
  }, 60_000);

  it("a worker killed is restarted with the accepted state", async () => {
    const before = (await workers()).map((w) => w.pid);
    process.kill(before[0]!, "SIGKILL");
    // The primary says when the worker it forked in its place is ready (host started, state read).
    const restarted = await p.waitForLog("the restarted worker", (l) => l.msg === "worker ready" && !before.includes(l.workerPid as number));
    const ws = await workers();
    expect(ws.map((w) => w.pid).sort()).toEqual([before[1]!, restarted.workerPid as number].sort());
    expect(ws.map((w) => w.state)).toEqual(["ready", "ready"]);
    for (const w of ws) {
      expect(w.plugins.find((x) => x.name === "header-canary")?.configVersion).toBe(1);
      expect(w.clusters).toEqual([{ name: "c", hostsVersion: 1, hosts: 2 }]);
    }
    const r = await put(`${p.adminUrl}/plugins/header-canary/config`, JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue: "canary" }), auth);
    expect(r.json).toMatchObject({ configVersion: 2, appliedWorkers: 2 });
    const seen = await byWorker({ "x-canary": "1" });
    expect(asObject(seen)).toEqual(Object.fromEntries(ws.map((w) => [String(w.pid), ["canary0"]])));
  }, 60_000);
});

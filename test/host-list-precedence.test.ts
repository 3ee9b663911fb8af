// Which host list a cluster serves when the config file has one and the state folder has a pushed one (issue 16,
// docs/operations.md "Which source wins"): the push lasts while the file's list is the one it replaced; a list
// changed in the file since wins, at the next start or reload, and the push's state file is removed. Each start
// and reload logs where each cluster's hosts and each plugin's config came from. Real hosts, real state folder,
// the admin API over a socket.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfigFile } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { stateFileName } from "../host/state/store.js";
import { memoryLog } from "./helpers/memory-log.js";
import { anyHost, clusterJson, mosnConfig } from "./helpers/switchyard.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const TOKEN = "precedence-token";
let root: string;
let file: string;
let stateDir: string;
let a: Upstream;
let b: Upstream;
let host: SwitchyardHost | null = null;
let logs: Record<string, unknown>[] = [];

async function writeConfig(hosts: readonly { address: string; weight?: number }[]): Promise<void> {
  const d = mosnConfig({ clusters: [{ name: "svc:80", hosts: [] }], virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "svc:80" } }])] }) as Record<string, any>;
  d.cluster_manager.clusters[0] = { ...clusterJson({ name: "svc:80", hosts: [] }), hosts: hosts.map((h) => ({ address: h.address, weight: h.weight ?? 1 })) };
  d.admin = { address: "127.0.0.1:0" };
  d.switchyard = { state_dir: stateDir };
  await writeFile(file, JSON.stringify(d));
}

async function start(): Promise<SwitchyardHost> {
  logs = [];
  const { config } = await loadConfigFile(file);
  host = new SwitchyardHost({ config, logger: pino({ level: "info" }, memoryLog(logs)), env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
  await host.start();
  return host;
}

async function stop(): Promise<void> {
  for (const s of host?.servers ?? []) s.server.closeAllConnections();
  await host?.stop();
  host = null;
}

async function served(): Promise<string> {
  const res = await request(`http://127.0.0.1:${host!.servers[0]!.address!.port}/`);
  return (JSON.parse(await res.body.text()) as { upstream: string }).upstream;
}

async function push(addresses: string[]): Promise<void> {
  const res = await request(`http://127.0.0.1:${host!.adminAddress!.port}/clusters/${encodeURIComponent("svc:80")}/hosts`, {
    method: "PUT", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(addresses.map((address) => ({ address }))),
  });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

const stateFile = () => join(stateDir, "clusters", `${stateFileName("svc:80")}.json`);
const sourceLine = () => logs.filter((l) => l.event === "hosts-source" && l.cluster === "svc:80").at(-1);

beforeAll(async () => {
  a = await startUpstream("a");
  b = await startUpstream("b");
});

afterAll(async () => {
  await a.close();
  await b.close();
});

describe("host list: the config file or the push", () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "switchyard-precedence-"));
    file = join(root, "config.json");
    stateDir = join(root, "state");
  });
  afterEach(stop);
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it("a restart with an unchanged file keeps the push; a list changed in the file wins and forgets the push", async () => {
    await writeConfig([{ address: a.address }]);
    await start();
    expect(await served()).toBe("a");
    expect(sourceLine()).toMatchObject({ hostsFrom: "config", when: "start" });
    await push([b.address]);
    expect(await served()).toBe("b");
    expect(JSON.parse(await readFile(stateFile(), "utf8"))).toHaveProperty("configHosts");
    await stop();

    await start();
    expect(await served()).toBe("b");
    expect(sourceLine()).toMatchObject({ hostsFrom: "state", hostsVersion: 1, when: "start" });
    await stop();

    // The operator writes a new list into the file: it is what the next start serves.
    await writeConfig([{ address: a.address, weight: 2 }]);
    await start();
    expect(await served()).toBe("a");
    expect(sourceLine()).toMatchObject({ hostsFrom: "config", when: "start" });
    expect(String(sourceLine()!.msg)).toContain("the file's list changed since the push at version 1");
    expect(existsSync(stateFile())).toBe(false);
    // The versions go on from the push's: the next push is version 2.
    await push([b.address]);
    expect(JSON.parse(await readFile(stateFile(), "utf8")).version).toBe(2);
  });

  it("a reload follows the same rule", async () => {
    await writeConfig([{ address: a.address }]);
    await start();
    await push([b.address]);
    // A reload of the file as it is: the cluster's list did not change, the push stays.
    const o1 = await host!.reloadFromFile();
    expect(o1.ok).toBe(true);
    expect(await served()).toBe("b");
    expect(sourceLine()).toMatchObject({ hostsFrom: "state", when: "reload" });
    // The cluster's list changes in the file: the file wins.
    await writeConfig([{ address: a.address, weight: 3 }]);
    expect((await host!.reloadFromFile()).ok).toBe(true);
    expect(await served()).toBe("a");
    expect(sourceLine()).toMatchObject({ hostsFrom: "config", when: "reload" });
    expect(existsSync(stateFile())).toBe(false);
  });

  it("a push saved before the file's list was recorded is kept, and said so", async () => {
    await writeConfig([{ address: a.address }]);
    await start();
    await push([b.address]);
    await stop();
    const saved = JSON.parse(await readFile(stateFile(), "utf8")) as Record<string, unknown>;
    delete saved.configHosts;
    await writeFile(stateFile(), JSON.stringify(saved));
    await writeConfig([{ address: a.address, weight: 5 }]);
    await start();
    expect(await served()).toBe("b");
    expect(String(sourceLine()!.msg)).toContain("before the file's list was recorded");
  });
});

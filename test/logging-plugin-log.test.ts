// Plugin log lines through sy_log into pino, on a real host: two logging plugins compiled here from
// AssemblyScript with the real `switchyard build` code path (no fixture folder logs), each line attributed to
// its plugin's child logger, filtered by level before decoding, rate-limited per plugin by a token bucket on a
// clock the test moves, dropped lines counted and reported.

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPlugin } from "../host/build/build-plugin.js";
import { parseConfig } from "../host/config/index.js";
import { createLogger } from "../host/logging/logger.js";
import type { PluginLogs } from "../host/logging/plugin-log.js";
import { TokenBucket } from "../host/logging/token-bucket.js";
import { attachMetrics } from "../host/metrics/metrics.js";
import { SwitchyardHost } from "../host/server/host.js";
import { memoryLog } from "./helpers/memory-log.js";

const REPO = new URL("../", import.meta.url).pathname;

/** A plugin that logs `x-log` lines (default 0) at level `x-log-level` (default 2, info), each naming itself. */
function chattySource(name: string, order: number, entryDir: string): string {
  const sdk = relative(entryDir, join(REPO, "sdk/assembly"));
  return `
import { Configured, Handler, Hosts, log, register, Request, Result, RouterFactory } from "${sdk}";
export * from "${sdk}/abi/exports";

class Chatty extends Handler {
  route(request: Request, hosts: Hosts, result: Result): void {
    const n = request.header("x-log");
    if (n === null) return;
    const lv = request.header("x-log-level");
    const level = lv === null ? 2 : I32.parseInt(lv);
    const count = I32.parseInt(n);
    for (let i = 0; i < count && i < 1000; i++) {
      const line = "${name} line " + i.toString();
      if (level == 0) log.trace(line);
      else if (level == 1) log.debug(line);
      else if (level == 2) log.info(line);
      else if (level == 3) log.warn(line);
      else log.error(line);
    }
  }
}

class ChattyFactory extends RouterFactory {
  name(): string { return "${name}"; }
  order(): i32 { return ${order}; }
  configure(config: string): Configured {
    if (config == "shout") log.warn("${name} configured to shout");
    return Configured.ok(new Chatty());
  }
}

register(new ChattyFactory());
`;
}

let root: string;
let host: SwitchyardHost;
let upstream: Server;
let proxyUrl: string;
let clock = 0;
let logs: PluginLogs;
const lines: Record<string, unknown>[] = [];

async function get(headers: Record<string, string>): Promise<number> {
  const r = await fetch(proxyUrl + "/", { headers });
  await r.arrayBuffer();
  return r.status;
}

function pluginLines(): Record<string, unknown>[] {
  return lines.filter((l) => l.component === "plugin");
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-plog-"));
  for (const [name, order] of [["chatty-a", 1], ["chatty-b", 2]] as const) {
    const dir = join(root, "src", name);
    await mkdir(join(dir, "assembly"), { recursive: true });
    await writeFile(join(dir, "assembly", "index.ts"), chattySource(name, order, join(dir, "assembly")));
    await writeFile(join(dir, "plugin.json"), JSON.stringify({ version: "1.0.0", headers: ["x-log", "x-log-level"], defaultConfig: "quiet", failurePolicy: "open" }));
    await buildPlugin(dir, join(root, "plugins", name), { cwd: REPO });
  }
  upstream = createServer((req, res) => {
    req.resume();
    res.end("ok");
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const cfg = {
    servers: [{
      routers: [{ router_config_name: "r", virtual_hosts: [{ name: "vh", domains: ["*"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }] }] }],
      listeners: [{ name: "main", address: "127.0.0.1:0", filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }] }] }],
    }],
    cluster_manager: { clusters: [{ name: "c", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: `127.0.0.1:${(upstream.address() as AddressInfo).port}` }] }] },
    admin: { address: "127.0.0.1:0" },
  };
  const { config } = parseConfig(JSON.stringify(cfg), "plog.json");
  const logger = pino({ level: "info" }, memoryLog(lines));
  host = new SwitchyardHost({
    config,
    logger,
    pluginsDir: join(root, "plugins"),
    stateDir: join(root, "state"),
    admin: false,
    watch: false,
    pluginLogs: { ratePerSec: 1, burst: 5, clock: () => clock },
  });
  logs = host.pluginLogs;
  await host.start();
  proxyUrl = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
}, 120_000);

afterAll(async () => {
  await host?.stop();
  if (upstream) await new Promise<void>((r) => { upstream.close(() => r()); upstream.closeAllConnections(); });
  if (root) await rm(root, { recursive: true, force: true });
});

describe("TokenBucket", () => {
  it("allows a burst, then the rate, refilling with the injected clock", () => {
    let t = 0;
    const b = new TokenBucket(2, 3, () => t);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    t += 499; // 0.998 tokens
    expect(b.take()).toBe(false);
    t += 2; // 1.002 tokens
    expect([b.take(), b.take()]).toEqual([true, false]);
    t += 60_000; // refills to the burst, never above
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    t -= 10_000; // a clock stepping back refills nothing
    expect(b.take()).toBe(false);
    expect(() => new TokenBucket(1, 0, () => 0)).toThrow(/burst/);
    expect(() => new TokenBucket(Number.NaN, 1, () => 0)).toThrow(/ratePerSec/);
  });
});

describe("plugin log lines (sy_log)", () => {
  it("go to a child logger per plugin, attributed to the plugin that logged them", async () => {
    lines.length = 0;
    clock += 100_000; // full buckets
    expect(await get({ "x-log": "2" })).toBe(200);
    const got = pluginLines().map((l) => [l.plugin, l.msg, l.level, l.event]);
    expect(got).toEqual([
      ["chatty-a", "chatty-a line 0", 30, "plugin-log"],
      ["chatty-a", "chatty-a line 1", 30, "plugin-log"],
      ["chatty-b", "chatty-b line 0", 30, "plugin-log"],
      ["chatty-b", "chatty-b line 1", 30, "plugin-log"],
    ]);
  });

  it("maps the ABI levels to pino levels and drops lines below the logger's level before decoding", async () => {
    lines.length = 0;
    clock += 100_000;
    const sink = logs.sinkFor("chatty-a");
    const before = sink.dropped;
    for (const level of [0, 1, 2, 3, 4]) expect(await get({ "x-log": "1", "x-log-level": String(level) })).toBe(200);
    const a = pluginLines().filter((l) => l.plugin === "chatty-a");
    // trace and debug are below "info": never decoded, never counted as dropped by the rate limit.
    expect(a.map((l) => l.level)).toEqual([30, 40, 50]);
    expect(sink.dropped).toBe(before);
    expect(sink.enabled(1)).toBe(false);
  });

  it("rate-limits each plugin on its own and counts what it dropped, reported once lines flow again", async () => {
    lines.length = 0;
    clock += 100_000; // burst 5, then 1 line a second
    const droppedA = logs.sinkFor("chatty-a").dropped;
    const droppedB = logs.sinkFor("chatty-b").dropped;
    expect(await get({ "x-log": "20" })).toBe(200);
    expect(pluginLines().filter((l) => l.plugin === "chatty-a")).toHaveLength(5);
    expect(pluginLines().filter((l) => l.plugin === "chatty-b")).toHaveLength(5);
    expect(logs.sinkFor("chatty-a").dropped - droppedA).toBe(15);
    expect(logs.sinkFor("chatty-b").dropped - droppedB).toBe(15);
    expect(logs.droppedByPlugin().get("chatty-a")).toBe(logs.sinkFor("chatty-a").dropped);

    lines.length = 0;
    clock += 2000; // two tokens each
    expect(await get({ "x-log": "20" })).toBe(200);
    const a = pluginLines().filter((l) => l.plugin === "chatty-a");
    expect(a.map((l) => [l.event, l.msg, l.dropped])).toEqual([
      ["log-dropped", "plugin log lines dropped by the rate limit", 15],
      ["plugin-log", "chatty-a line 0", undefined],
      ["plugin-log", "chatty-a line 1", undefined],
    ]);
    expect(a[0]!.level).toBe(40);
  });

  it("exports the dropped-lines counter through the metrics", async () => {
    const metrics = attachMetrics(host, { droppedLogLines: () => logs.droppedByPlugin() });
    try {
      const body = (await metrics.scrape()).body;
      const m = /switchyard_plugin_log_lines_dropped_total\{plugin="chatty-a"\} (\d+)/.exec(body);
      expect(Number(m?.[1])).toBe(logs.sinkFor("chatty-a").dropped);
      expect(logs.sinkFor("chatty-a").dropped).toBeGreaterThanOrEqual(33);
    } finally {
      metrics.detach();
    }
  });

  it("keeps a plugin's bucket across a config push (new instances of the same plugin share it)", async () => {
    clock += 100_000;
    expect(await get({ "x-log": "5" })).toBe(200); // the whole burst of chatty-a
    lines.length = 0;
    const before = logs.sinkFor("chatty-a").dropped;
    await host.pusher.push("chatty-a", "shout"); // a new instance logs from configure: over the rate
    expect(pluginLines()).toEqual([]);
    expect(logs.sinkFor("chatty-a").dropped).toBe(before + 1);
    clock += 1000;
    await host.pusher.push("chatty-a", "shout");
    expect(pluginLines().map((l) => [l.plugin, l.msg, l.level, l.dropped])).toEqual([
      ["chatty-a", "plugin log lines dropped by the rate limit", 40, 1],
      ["chatty-a", "chatty-a configured to shout", 40, undefined],
    ]);
  });
});

describe("createLogger", () => {
  it("writes JSON lines to a destination, and asks for pino-pretty only when pretty output is wanted", async () => {
    const out: string[] = [];
    const dest = new Writable({
      write(chunk: Buffer, _e, cb) {
        out.push(chunk.toString("utf8"));
        cb();
      },
    });
    const log = await createLogger({ level: "warn", destination: dest });
    log.info("hidden");
    log.warn({ a: 1 }, "shown");
    expect(out.map((l) => JSON.parse(l) as { msg: string; a: number })).toMatchObject([{ msg: "shown", a: 1 }]);
    let installed = true;
    try {
      await import("pino-pretty" as string);
    } catch {
      installed = false;
    }
    if (installed) expect(typeof (await createLogger({ pretty: true })).info).toBe("function");
    else await expect(createLogger({ pretty: true })).rejects.toThrow(/npm i -D pino-pretty/);
  });
});

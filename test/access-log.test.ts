// The access log (issue 16): one line per request, built in one place (host/proxy/access-log.ts logAccess) for a
// forwarded request, a direct response and a refusal alike, with the client's address, x-request-id (the
// client's kept; else made by the injected source and forwarded upstream), user agent, bytes in and out, the
// upstream host and the attempts; written to switchyard.access_log's own file, not the app log. A real host,
// real upstream, a real file.

import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { memoryLog } from "./helpers/memory-log.js";
import { anyHost, mosnConfig } from "./helpers/switchyard.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

let root: string;
let up: Upstream;
let lines: Record<string, unknown>[];
const appLogs: Record<string, unknown>[] = [];
let port = 0;

const CORE = ["listener", "route", "cluster", "method", "path", "status", "durationMs", "upstream", "attempts", "bytesIn", "bytesOut", "client", "requestId", "userAgent"];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-access-"));
  up = await startUpstream("u");
  const cfg = mosnConfig({
    clusters: [{ name: "c", hosts: [up.address] }],
    virtualHosts: [anyHost([
      { name: "direct", match: { prefix: "/direct" }, direct_response: { status: 200, body: "hi\n" } },
      { name: "fwd", match: { prefix: "/fwd" }, route: { cluster_name: "c" } },
    ])],
  }) as Record<string, unknown>;
  cfg.switchyard = { access_log: "logs/access.log" };
  const { config } = parseConfig(JSON.stringify(cfg), join(root, "config.json"));
  let n = 0;
  const host = new SwitchyardHost({ config, logger: pino({ level: "info" }, memoryLog(appLogs)), admin: false, requestId: () => `made-${++n}` });
  await host.start();
  port = host.servers[0]!.address!.port;
  const base = `http://127.0.0.1:${port}`;
  // One after the other, so that the lines and the made ids come in this order.
  for (const send of [
    () => request(`${base}/fwd/a`, { method: "POST", body: "hello", headers: { "user-agent": "probe/1" } }),
    () => request(`${base}/fwd/b`, { headers: { "x-request-id": "client-id-7", "user-agent": "probe/2" } }),
    () => request(`${base}/direct`),
    () => request(`${base}/`),
  ]) await (await send()).body.text();
  for (const s of host.servers) s.server.closeAllConnections();
  // stop() closes the access log's file: every line is on disk after it.
  await host.stop();
  lines = (await readFile(join(root, "logs/access.log"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
});

afterAll(async () => {
  await up.close();
  await rm(root, { recursive: true, force: true });
});

describe("access log", () => {
  it("goes to its own file, one line per request, and not to the app log", async () => {
    expect(lines.filter((l) => l.msg === "request")).toHaveLength(4);
    expect(appLogs.filter((l) => l.msg === "request")).toEqual([]);
    expect((await stat(join(root, "logs/access.log"))).mode & 0o777).toBe(0o644);
  });

  it("has the same fields for a forwarded request, a direct response and a 404", () => {
    for (const l of lines) expect(Object.keys(l)).toEqual(expect.arrayContaining(CORE));
  });

  it("says who asked, with what id and agent, and what moved where", () => {
    const [fwd, kept, direct, missing] = lines;
    expect(fwd).toMatchObject({ route: "fwd", cluster: "c", method: "POST", path: "/fwd/a", status: 200, upstream: up.address, attempts: 1, bytesIn: 5, requestId: "made-1", userAgent: "probe/1" });
    expect(String(fwd!.client)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(fwd!.bytesOut).toBeGreaterThan(0);
    expect(kept).toMatchObject({ path: "/fwd/b", requestId: "client-id-7", userAgent: "probe/2", upstream: up.address });
    expect(direct).toMatchObject({ route: "direct", status: 200, upstream: null, attempts: 0, bytesIn: 0, bytesOut: 3, requestId: "made-2" });
    expect(missing).toMatchObject({ status: 404, route: null, reason: "E_NO_ROUTE", requestId: "made-3" });
  });

  it("forwards the id upstream: the one made, or the client's", () => {
    expect(up.requests.map((r) => r.headers["x-request-id"])).toEqual(["made-1", "client-id-7"]);
  });
});

// `"access_log": "stdout"` (issue 16, docs/operations.md "The access log"): the real host process started by the
// CLI writes one access line per request to its stdout, with the documented values, as whole JSON lines apart
// from the app log's (which shares the stream: no app line is an access line, no access line has app fields).

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, expect, it } from "vitest";
import { spawnHost, type HostProcess } from "./helpers/host-process.js";
import { anyHost, mosnConfig } from "./helpers/switchyard.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

let root: string | null = null;
let up: Upstream | null = null;
let p: HostProcess | null = null;

afterAll(async () => {
  p?.kill();
  await p?.exited;
  await up?.close();
  if (root !== null) await rm(root, { recursive: true, force: true });
});

it("writes each request's access line to the process's stdout, with the documented values", async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-access-stdout-"));
  up = await startUpstream("u");
  const cfg = mosnConfig({ clusters: [{ name: "c", hosts: [up.address] }], virtualHosts: [anyHost([{ name: "fwd", match: { prefix: "/fwd" }, route: { cluster_name: "c" } }])] }) as Record<string, unknown>;
  cfg.switchyard = { access_log: "stdout" };
  cfg.admin = { address: "127.0.0.1:0" };
  const file = join(root, "config.json");
  await writeFile(file, JSON.stringify(cfg));
  p = await spawnHost({ configFile: file, env: { SWITCHYARD_ADMIN_TOKEN: "t" } });
  const res = await request(`${p.listenerUrl}/fwd/a`, { method: "POST", body: "hello", headers: { "user-agent": "probe/1", "x-request-id": "rid-1" } });
  const body = await res.body.text();
  expect(res.statusCode).toBe(200);
  const line = await p.waitForLog("the access line", (l) => l.component === "access" && l.requestId === "rid-1");
  expect(line.pid).toBe(p.child.pid);
  expect(line).toMatchObject({
    level: 30, component: "access", listener: "main", route: "fwd", cluster: "c", method: "POST", path: "/fwd/a", status: 200,
    upstream: up.address, attempts: 1, bytesIn: 5, bytesOut: Buffer.byteLength(body), requestId: "rid-1", userAgent: "probe/1", msg: "request",
  });
  expect(line.client).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(typeof line.durationMs).toBe("number");
  // Whole JSON lines only, and the two logs apart: app lines (listener started …) are not access lines.
  expect(p.logs.filter((l) => l.msg === "(not JSON)")).toEqual([]);
  expect(p.logs.filter((l) => l.component === "access")).toHaveLength(1);
  expect(p.logs.some((l) => l.msg === "listener started" && l.component === undefined)).toBe(true);
  // The access destination's own fields, not the app logger's child (which adds hostname): with access_log unset
  // the same line would be in the app log, on this same stdout.
  expect(Object.keys(line).sort()).toEqual(["attempts", "bytesIn", "bytesOut", "client", "cluster", "component", "durationMs", "level", "listener", "method", "msg", "path", "pid", "requestId", "route", "status", "time", "upstream", "userAgent"]);
});

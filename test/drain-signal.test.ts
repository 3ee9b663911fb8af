// SIGTERM to a real `switchyard run` (issue 16): the listener stops accepting, a request in flight finishes and
// the process exits 0; with a request that outlasts --grace, the process cuts it and exits once the grace has
// passed. The upstream is a real server that holds each request until the test answers it (no sleep).

import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { spawnHost } from "./helpers/host-process.js";
import { anyHost, mosnConfig } from "./helpers/switchyard.js";

let root: string;
let upstream: http.Server;
const held: http.ServerResponse[] = [];
const waiting: (() => void)[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-drain-"));
  upstream = http.createServer((_req, res) => {
    held.push(res);
    waiting.shift()?.();
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const d = mosnConfig({ clusters: [{ name: "c", hosts: [`127.0.0.1:${(upstream.address() as AddressInfo).port}`] }], virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "60s" } }])] }) as Record<string, unknown>;
  d.admin = { address: "127.0.0.1:0" };
  await writeFile(join(root, "config.json"), JSON.stringify(d));
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
  await rm(root, { recursive: true, force: true });
});

/** Sends one request and resolves with its status and body, or the error that cut it. */
function send(url: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: new http.Agent({ keepAlive: true }) }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
      res.on("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

function connect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve("connected")));
    s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

it("lets a request in flight finish after SIGTERM, refuses new connections, and exits 0", async () => {
  const p = await spawnHost({ configFile: join(root, "config.json"), args: ["--grace", "30s"], env: { SWITCHYARD_ADMIN_TOKEN: "t" } });
  const arrived = new Promise<void>((r) => waiting.push(r));
  const inFlight = send(`${p.listenerUrl}/slow`);
  await arrived;
  p.kill("SIGTERM");
  // Logged once the listener no longer accepts.
  await p.waitForLog("draining", (l) => l.event === "draining" && l.graceMs === 30_000);
  expect(await connect(Number(p.listenerUrl.split(":")[2]))).toBe("ECONNREFUSED");
  held.shift()!.end("finished\n");
  const t0 = performance.now();
  expect(await inFlight).toEqual({ status: 200, body: "finished\n" });
  expect(await p.exited).toBe(0);
  // Its keep-alive connection was closed once idle: the exit did not wait for idle_timeout (75 s), as it did.
  expect(performance.now() - t0).toBeLessThan(20_000);
}, 90_000);

it("cuts a request that outlasts --grace and exits once the grace has passed", async () => {
  const p = await spawnHost({ configFile: join(root, "config.json"), args: ["--grace", "300ms"], env: { SWITCHYARD_ADMIN_TOKEN: "t" } });
  const arrived = new Promise<void>((r) => waiting.push(r));
  const inFlight = send(`${p.listenerUrl}/never`);
  await arrived;
  const t0 = performance.now();
  p.kill("SIGTERM");
  expect(await p.exited).toBe(0);
  const tookMs = performance.now() - t0;
  expect(await inFlight).toEqual({ error: "ECONNRESET" });
  expect(p.logs.some((l) => l.event === "grace-passed" && l.graceMs === 300)).toBe(true);
  // It waited for the grace, and not for the upstream (which never answers).
  expect(tookMs).toBeGreaterThanOrEqual(250);
  expect(tookMs).toBeLessThan(20_000);
  held.shift()?.destroy();
}, 90_000);

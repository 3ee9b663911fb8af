// SIGHUP to a real `switchyard run` (bin/switchyard.js, the compiled dist/) reloads its config file: a new
// answer is served after "config reloaded"; a bad file is refused ("config reload refused", GET /config says
// why) and the old answer stays; the process keeps running through both (issue 16).

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { get, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { anyHost, mosnConfig } from "./helpers/switchyard.js";

let root: string;
let file: string;
let p: HostProcess;

function config(body: string): string {
  const d = mosnConfig({ clusters: [{ name: "c", hosts: ["127.0.0.1:1"] }], virtualHosts: [anyHost([{ match: { prefix: "/" }, direct_response: { status: 200, body } }])] }) as Record<string, unknown>;
  d.admin = { address: "127.0.0.1:0" };
  return JSON.stringify(d);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-sighup-"));
  file = join(root, "config.json");
  await writeFile(file, config("first\n"));
  p = await spawnHost({ configFile: file, env: { SWITCHYARD_ADMIN_TOKEN: "t" } });
});

afterAll(async () => {
  p?.kill("SIGKILL");
  await p?.exited;
  await rm(root, { recursive: true, force: true });
});

it("reloads on SIGHUP, refuses a bad file on SIGHUP, and keeps serving", async () => {
  expect((await get(`${p.listenerUrl}/`)).body).toBe("first\n");
  // The listener's port is 0 in the file: a kept listener keeps its socket, so the URL stays the same.
  await writeFile(file, config("second\n"));
  p.kill("SIGHUP");
  await p.waitForLog("config reloaded", (l) => l.msg === "config reloaded" && l.generation === 2);
  expect((await get(`${p.listenerUrl}/`)).body).toBe("second\n");

  await writeFile(file, '{"servers": [');
  p.kill("SIGHUP");
  const refused = await p.waitForLog("config reload refused", (l) => l.event === "config-refused");
  expect(refused).toMatchObject({ code: "E_CONFIG_INVALID", generation: 2 });
  expect((await get(`${p.listenerUrl}/`)).body).toBe("second\n");
  const status = JSON.parse((await get(`${p.adminUrl}/config`)).body) as { generation: number; lastReload: { ok: boolean; error: { code: string } } };
  expect(status).toMatchObject({ generation: 2, lastReload: { ok: false, error: { code: "E_CONFIG_INVALID" } } });
}, 90_000);

it("with --workers 2, SIGHUP to the primary reloads every worker", async () => {
  const wfile = join(root, "workers.json");
  await writeFile(wfile, config("one\n"));
  const w = await spawnHost({ configFile: wfile, args: ["--workers", "2"], env: { SWITCHYARD_ADMIN_TOKEN: "t" }, readyWhen: (logs) => logs.some((l) => l.msg === "workers started") });
  try {
    await writeFile(wfile, config("two\n"));
    w.kill("SIGHUP");
    const reloadedBy = () => new Set(w.logs.filter((l) => l.msg === "config reloaded").map((l) => String(l.worker ?? "primary")));
    await w.waitForLog("the primary and both workers reloaded", () => reloadedBy().size === 3);
    // Fresh connections, so that both workers answer some.
    const bodies = new Set<string>();
    for (let i = 0; i < 10; i++) bodies.add((await get(`${w.listenerUrl}/`)).body);
    expect([...bodies]).toEqual(["two\n"]);
  } finally {
    w.kill("SIGKILL");
    await w.exited;
  }
}, 120_000);

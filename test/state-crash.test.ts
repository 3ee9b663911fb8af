// `switchyard run` killed with SIGKILL in the middle of a push loop comes back with a config that was
// accepted: the last one answered 200, or the one right after it when the kill landed between the rename and
// the answer. Never a torn or empty file.

import { watch } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canaryVariant, get, hostConfig, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const TOKEN = "crash-token";
const TAGS = ["a", "b", "c"];
// Each version's text is unique (the values list names it) and routes canary requests to TAGS[k % 3].
const configOf = (k: number) => JSON.stringify({ header: "x-canary", values: ["1", `v${k}`], tag: "version", tagValue: TAGS[k % 3] });

let root: string;
let configFile: string;
let upstreams: Upstream[];
const running: HostProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-crash-"));
  upstreams = [];
  for (const tag of ["a", "b", "c", "d"]) upstreams.push(await startUpstream(tag));
  await canaryVariant(join(root, "plugins", "header-canary"), { version: "1.0.0", tagValue: "d" });
  configFile = join(root, "switchyard.json");
  const cfg = hostConfig({ hosts: upstreams.map((u) => ({ address: u.address, tags: { version: u.name } })), pluginsDir: join(root, "plugins"), stateDir: join(root, "state") });
  await writeFile(configFile, JSON.stringify(cfg));
});

afterAll(async () => {
  for (const p of running) {
    p.kill("SIGKILL");
    await p.exited;
  }
  await Promise.all((upstreams ?? []).map((u) => u.close()));
  await rm(root, { recursive: true, force: true });
});

async function start(): Promise<HostProcess> {
  const p = await spawnHost({ configFile, env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
  running.push(p);
  return p;
}

async function configVersion(p: HostProcess): Promise<{ version: number; text: string }> {
  const res = await request(`${p.adminUrl}/plugins/header-canary/config`);
  return { version: Number(res.headers["x-config-version"]), text: await res.body.text() };
}

describe("SIGKILL in the middle of a push loop", () => {
  it("restarts with the last accepted config, never a torn one (2 kills at random moments)", async () => {
    let p = await start();
    let base = (await configVersion(p)).version;
    expect(base).toBe(0);
    const rounds: string[] = [];
    for (let round = 0; round < 2; round++) {
      // Push in a loop; kill -9 at a random moment of a push in flight: at the n-th change the state folder
      // announces after a few pushes were answered (each push writes a temp file, then renames it over the
      // config: a kill there lands before, inside or right after a write).
      let lastOk = base;
      let stop = false;
      let answered: () => void = () => undefined;
      const fewAnswered = new Promise<void>((resolve) => (answered = resolve));
      const loop = (async () => {
        for (let k = base + 1; k < base + 5000 && !stop; k++) {
          try {
            const res = await request(`${p.adminUrl}/plugins/header-canary/config`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: configOf(k) });
            const body = (await res.body.json()) as { configVersion?: number };
            if (res.statusCode !== 200) throw new Error(`push ${k}: HTTP ${res.statusCode} ${JSON.stringify(body)}`);
            expect(body.configVersion).toBe(k);
            lastOk = k;
            if (k === base + 3) answered();
          } catch (err) {
            if (stop) return; // the connection died with the process
            throw err;
          }
        }
      })();
      // The loop rejects if a push fails: that ends the wait too.
      await Promise.race([fewAnswered, loop]);
      const nth = 1 + Math.floor(Math.random() * 40);
      await Promise.race([changes(join(root, "state", "plugins"), nth), loop]);
      stop = true;
      p.kill("SIGKILL");
      expect(await p.exited).toBe("SIGKILL");
      await loop;
      expect(lastOk).toBeGreaterThan(base);

      // The file itself: whole JSON, one of the two allowed versions, with that version's text.
      const file = JSON.parse(await readFile(join(root, "state", "plugins", "header-canary.json"), "utf8")) as { version: number; config: string };
      expect([lastOk, lastOk + 1]).toContain(file.version);
      expect(file.config).toBe(configOf(file.version));

      p = await start();
      const now = await configVersion(p);
      expect([lastOk, lastOk + 1]).toContain(now.version);
      expect(now).toEqual({ version: file.version, text: configOf(file.version) });
      // And it routes by it.
      for (let i = 0; i < 3; i++) expect(JSON.parse((await get(`${p.listenerUrl}/`, { "x-canary": "1" })).body)).toMatchObject({ upstream: TAGS[now.version % 3] });
      rounds.push(`kill at change ${nth}, after ${lastOk - base} pushes: last 200 = v${lastOk}, restarted at v${now.version}`);
      base = now.version;
    }
    // Temp files of an interrupted write are never read as the config, and a restart clears them away.
    const names = await readdir(join(root, "state", "plugins"));
    expect(names.filter((n) => !n.startsWith("."))).toEqual(["header-canary.json"]);
    console.log(`state-crash: ${rounds.join("; ")}; files in the state folder: ${names.join(", ")}`);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 120_000);
});

/** Resolves at the n-th change fs.watch reports in `dir` (a file created, written or renamed). */
function changes(dir: string, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const w = watch(dir, () => {
      if (++seen < n) return;
      w.close();
      resolve();
    });
    w.on("error", reject);
  });
}

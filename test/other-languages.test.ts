// docs/other-languages.md's last block (```sh tour-push): a C bundle copied into a running host's plugins
// folder is loaded, and a config pushed to it by name takes effect. The docs test runs the tour's other
// blocks; this one needs a host of its own: a real `switchyard run` process, two upstreams, the commands of
// the block with the host's folder, admin address and token put in.

import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { get, hostConfig, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";
import { REPO } from "./fixtures/bundles.js";

const TOKEN = "tour-token";
let root: string | undefined;
let p: HostProcess | undefined;
let upstreams: Upstream[] = [];

afterAll(async () => {
  if (p) {
    p.kill("SIGKILL");
    await p.exited;
  }
  await Promise.all(upstreams.map((u) => u.close()));
  if (root) await rm(root, { recursive: true, force: true });
});

function bash(command: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-o", "pipefail", "-c", command], { cwd, timeout: 30_000, env: { ...process.env, TOKEN } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

describe("docs/other-languages.md: into a running host, and a push", () => {
  it("the documented commands deploy the C bundle and push a config that routes", async () => {
    const doc = await readFile(join(REPO, "docs/other-languages.md"), "utf8");
    const block = doc.match(/```sh tour-push\n([\s\S]*?)```/);
    expect(block).not.toBeNull();
    const commands = block![1]!.trim().split("\n");
    expect(commands).toHaveLength(3);

    root = await mkdtemp(join(tmpdir(), "switchyard-tour-"));
    const plugins = join(root, "plugins");
    await mkdir(plugins);
    upstreams = [await startUpstream("canary0"), await startUpstream("stable0")];
    const configFile = join(root, "switchyard.json");
    await writeFile(configFile, JSON.stringify(hostConfig({ hosts: upstreams.map((u) => ({ address: u.address, tags: { version: u.name.replace(/\d+$/, "") } })), pluginsDir: plugins, fallback: "any" })));
    p = await spawnHost({ configFile, env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
    const upstreamFor = async (h: Record<string, string>) => (JSON.parse((await get(`${p!.listenerUrl}/`, h)).body) as { upstream: string }).upstream;

    // The documented folders and address, made real: the repository's C bundle for the tour's, this host's.
    const real = (c: string) => c
      .replace("build/tour/canary-c/bundle", join(REPO, "build/raw-plugins/header-canary-c"))
      .replace("/srv/switchyard/plugins", plugins)
      .replace("node bin/switchyard.js", `node ${join(REPO, "bin/switchyard.js")}`)
      .replace("http://127.0.0.1:9901", p!.adminUrl);

    const copied = await bash(real(commands[0]!), root);
    expect(copied).toMatchObject({ code: 0 });
    const loaded = await p.waitForLog("the C bundle loaded", (l) => l.event === "loaded" && l.plugin === "header-canary-c");
    expect(loaded.version).toBe("1.0.0");
    // Its default config: x-canary 1 goes to the canary hosts.
    expect(await upstreamFor({ "x-canary": "1" })).toBe("canary0");

    for (const c of commands.slice(1)) {
      const r = await bash(real(c), root);
      expect([c, r.code, r.stderr]).toEqual([c, 0, ""]);
    }
    // The pushed config: only "yes" is a canary value now.
    expect(await upstreamFor({ "x-canary": "yes" })).toBe("canary0");
    expect(await upstreamFor({ "x-canary": "1" })).toBe("stable0");
  }, 120_000);
});

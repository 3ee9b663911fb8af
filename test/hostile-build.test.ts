// Hostile plugin authors at build time (issue 18): `switchyard build` probes the module it compiled, and that
// probe runs under the host's own sandbox (host/build/package.ts), so code that loops fails the build with
// E_BUILD_BUDGET instead of hanging it. The CLI runs in a child process with a kill timer: without the
// sandbox the loop would block the process, and a test running it in-process could never time out.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "./fixtures/bundles.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-hostile-build-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PLUGIN = `import { Configured, Handler, Hosts, register, Request, Result, RouterFactory } from "SDK";
export * from "SDK/abi/exports";
TOP_LEVEL
class H extends Handler {
  route(request: Request, hosts: Hosts, result: Result): void {}
}
class F extends RouterFactory {
  name(): string { return "spinner"; }
  order(): i32 { return 1; }
  configure(config: string): Configured {
    CONFIGURE
    return Configured.ok(new H());
  }
}
register(new F());
`;

// A loop the optimizer cannot drop: it stores to a global every turn and never leaves.
const LOOP = "while (spins >= 0) { spins = (spins + 1) & 0xffff; }";

async function pluginDir(name: string, topLevel: string, configure: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, "assembly"), { recursive: true });
  const sdk = relative(join(dir, "assembly"), join(REPO, "sdk/assembly"));
  const source = PLUGIN.replaceAll("SDK", sdk).replace("TOP_LEVEL", `let spins: i32 = 0;\n${topLevel}`).replace("CONFIGURE", configure);
  await writeFile(join(dir, "assembly/index.ts"), source);
  await writeFile(join(dir, "plugin.json"), JSON.stringify({ version: "1.0.0", defaultConfig: {}, failurePolicy: "open" }));
  return dir;
}

/** Runs `switchyard build <dir>`; a build still running after 60 s is killed, and the test fails on it. */
function build(dir: string): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile("node", ["bin/switchyard.js", "build", dir], { cwd: REPO, timeout: 60_000, killSignal: "SIGKILL" }, (err, _stdout, stderr) => {
      const e = err as (Error & { code?: number; signal?: string }) | null;
      resolve({ code: e === null ? 0 : typeof e.code === "number" ? e.code : null, signal: e?.signal ?? null, stderr });
    });
  });
}

describe("switchyard build on a plugin that loops", () => {
  it("top-level code that loops forever: exits 1 with E_BUILD_BUDGET naming the start budget, writes no bundle", async () => {
    const dir = await pluginDir("top-level-loop", LOOP, "");
    const r = await build(dir);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E_BUILD_BUDGET: top-level-loop: its top-level code did not finish within the sandbox's start budget of 100000000 fuel/);
    await expect(stat(join(dir, "bundle"))).rejects.toThrow(/ENOENT/);
  }, 90_000);

  it("configure that loops forever on the default config: exits 1 with E_BUILD_BUDGET, out of fuel", async () => {
    const dir = await pluginDir("configure-loop", "", LOOP);
    const r = await build(dir);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E_BUILD_BUDGET: configure-loop: configure\(defaultConfig\) out of fuel: the call used its whole budget/);
    await expect(stat(join(dir, "bundle"))).rejects.toThrow(/ENOENT/);
  }, 90_000);
});

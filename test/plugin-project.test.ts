// A plugin author's own repository, as a user would make it (issue 13): this project is packed with `npm
// pack`, `switchyard init` scaffolds a plugin in a temp folder outside the repository, the tarball installs
// there with no network (test/helpers/offline-install.ts) and no build step of the user's, the project's own
// `npm test` (build + vitest through the harness) and `npm run build` pass, and the bundle, copied into the
// plugins folder of a host run from the installed package, serves; `npm run push` changes its config. The files
// the docs show are the files init writes, so the doc's code is the code these steps run.

import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_NAME } from "../host/cli/package-name.js";
import { REPO } from "./fixtures/bundles.js";
import { get, hostConfig, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { installOffline, packRepo, writeOfflineLock } from "./helpers/offline-install.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const run = promisify(execFile);
// The project's own vitest must not think it runs inside this one (VITEST_* of the parent), nor color its report.
const projectEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && k !== "FORCE_COLOR" && k !== "NODE_OPTIONS")), NO_COLOR: "1" };
const npm = (args: string[]) => run("npm", args, { cwd: project, env: projectEnv });
const TOKEN = "project-token";
let root: string;
let project: string;
let tarball: string;
let upstreams: Upstream[] = [];
let host: HostProcess | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-project-"));
  tarball = await packRepo(root);
  project = join(root, "tenant-pin");
  await run(process.execPath, [join(REPO, "bin/switchyard.js"), "init", project, "--sdk", `file:${tarball}`], { cwd: root });
  await writeOfflineLock(project, tarball);
  await installOffline(project);
}, 120_000);

afterAll(async () => {
  if (host) {
    host.kill("SIGTERM");
    await host.exited;
  }
  await Promise.all(upstreams.map((u) => u.close()));
  await rm(root, { recursive: true, force: true });
});

describe("a plugin project outside the repository", () => {
  it("the package is ours by name, and installs with its CLI, SDK and harness but no sources to build", async () => {
    const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { name: string; bin: Record<string, string> };
    expect(pkg.name).toBe(PACKAGE_NAME);
    expect(Object.keys(pkg.bin).sort()).toEqual(["switchyard", PACKAGE_NAME]);
    const installed = join(project, "node_modules", PACKAGE_NAME);
    const { stdout } = await run(join(project, "node_modules/.bin", PACKAGE_NAME), ["--version"], { cwd: project });
    expect(stdout).toBe(`${PACKAGE_NAME} ${JSON.parse(await readFile(join(REPO, "package.json"), "utf8")).version}\n`);
    await expect(readFile(join(installed, "sdk/assembly/index.ts"), "utf8")).resolves.toContain("export { ConfigReader }");
    await expect(readFile(join(installed, "dist/sdk/harness/index.d.ts"), "utf8")).resolves.toContain("loadBundle");
    const scaffold = JSON.parse(await readFile(join(project, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    expect(scaffold.devDependencies[PACKAGE_NAME]).toBe(`file:${tarball}`);
  });

  it("the files docs/writing-a-plugin.md shows are the files init writes, byte for byte", async () => {
    const doc = await readFile(join(REPO, "docs/writing-a-plugin.md"), "utf8");
    const shown = [...doc.matchAll(/^```\w+ scaffold=(\S+)\n([\s\S]*?)^```$/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(shown.map(([path]) => path)).toEqual(["plugin.json", "assembly/index.ts", "test/plugin.test.ts"]);
    for (const [path, text] of shown) expect(text, path).toBe(await readFile(join(project, path), "utf8"));
  });

  it("npm test (build, then vitest through the harness in the sandbox) and npm run build pass at once", async () => {
    const t = await npm(["test"]);
    expect(t.stdout).toMatch(/built tenant-pin@1\.0\.0/);
    expect(t.stdout).toMatch(/Tests\s+3 passed \(3\)/);
    const b = await npm(["run", "build"]);
    expect(b.stdout).toMatch(/built tenant-pin@1\.0\.0 \(order 0, \d+ bytes, sha256 [0-9a-f]{64}\) into bundle/);
  }, 120_000);

  it("the bundle serves in a host run from the installed package, and npm run push changes its shards", async () => {
    upstreams = [await startUpstream("s1"), await startUpstream("s2")];
    const plugins = join(root, "plugins");
    await mkdir(plugins);
    await cp(join(project, "bundle"), join(plugins, "tenant-pin"), { recursive: true });
    const configFile = join(root, "switchyard.json");
    await writeFile(configFile, JSON.stringify(hostConfig({ hosts: upstreams.map((u) => ({ address: u.address, tags: { shard: u.name } })), pluginsDir: plugins, stateDir: join(root, "state") })));
    host = await spawnHost({ configFile, bin: join(project, "node_modules/.bin/switchyard"), env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
    const upstreamFor = async (tenant: string) => {
      const r = await get(`${host!.listenerUrl}/x`, { "x-tenant": tenant });
      expect(r.status).toBe(200);
      return (JSON.parse(r.body) as { upstream: string }).upstream;
    };
    // The default config pins acme to s1; globex is unknown, so either host serves it.
    for (let i = 0; i < 4; i++) expect(await upstreamFor("acme")).toBe("s1");
    // config.json of the scaffold adds globex -> s2.
    const push = await npm(["run", "push", "--", "--admin", host.adminUrl, "--token", TOKEN]);
    expect(push.stdout).toMatch(/tenant-pin/);
    for (let i = 0; i < 4; i++) expect(await upstreamFor("globex")).toBe("s2");
    for (let i = 0; i < 4; i++) expect(await upstreamFor("acme")).toBe("s1");
  }, 120_000);
});

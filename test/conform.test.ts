// `switchyard conform` (issue 12): every example bundle — AssemblyScript, C and Rust, as `make build` built
// them — passes the suite under the host's sandbox, chain and lifecycle; bundles broken on purpose fail it on
// the check that names their fault, with a message that says what was expected and what was seen, and the
// command exits 1 (text and --json).

import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageModule } from "../host/build/package.js";
import { parsePluginJson } from "../host/build/plugin-json.js";
import { conform, type ConformOptions, type ConformReport } from "../host/conform/suite.js";
import { REPO } from "./fixtures/bundles.js";

const run = promisify(execFile);
const CLI = join(REPO, "bin/switchyard.js");
/** Where `make build` puts the example bundles: AssemblyScript, the other languages, components (Makefile). */
const EXAMPLE_DIRS = ["build/plugins", "build/raw-plugins", "build/component-plugins"];

/**
 * What a bundle is run with besides the defaults, and why (docs/other-languages.md). A component receives its
 * table lifted into its own memory (list<host> in the canonical ABI), about three times the raw ABI's bytes:
 * at 65,536 hosts 330 (C) to 730 (Rust) pages, past the default cap of 256, as a host given
 * `--memory-pages 1024` runs them. The JavaScript guest (an engine in wasm) loads ~1,500 hosts within the
 * largest fuel of a call, and its collector grows its heap to ~67 MiB before it first collects.
 */
const RUN_WITH: Record<string, ConformOptions> = {
  "build/component-plugins/header-canary": { sandbox: { memoryPages: 1024 } },
  "build/component-plugins/header-canary-c-component": { sandbox: { memoryPages: 1024 } },
  "build/component-plugins/header-canary-rust-component": { sandbox: { memoryPages: 1024 } },
  "build/component-plugins/header-canary-js": { largeTables: [1000], calls: 60_000 },
};

let root: string;
const broken: Record<string, string> = {};

/** Compiles test/fixtures/conform-c/conform.c with `define` (or none) and packs it as `switchyard pack` does. */
async function buildC(define: string | null): Promise<string> {
  const name = define ?? "base";
  const wasm = join(root, `${name}.wasm`);
  execFileSync("clang", ["--target=wasm32", "-nostdlib", "-O2", "-Wall", "-Werror", "-Wl,--no-entry", ...(define ? [`-D${define}`] : []), "-o", wasm, join(REPO, "test/fixtures/conform-c/conform.c")]);
  const packed = await packageModule(await readFile(wasm), parsePluginJson('{"version":"1"}', "plugin.json"), join(root, name), `${name}.wasm`, true);
  return packed.outDir;
}

function byId(r: ConformReport, id: string) {
  const c = r.checks.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no check ${id} in ${r.checks.map((x) => x.id).join(", ")}`);
  return c;
}

function failed(r: ConformReport): string[] {
  return r.checks.filter((c) => c.status === "fail").map((c) => c.id);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-conform-"));
  for (const d of [null, "OUT_OF_RANGE", "LEAK", "STALE_TABLE"]) broken[d ?? "base"] = await buildC(d);
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("every example bundle conforms", async () => {
  const bundles: string[] = [];
  for (const d of EXAMPLE_DIRS) for (const name of await readdir(join(REPO, d))) bundles.push(join(d, name));

  it("finds the AssemblyScript, C and Rust examples, raw and as components, and the JavaScript one", () => {
    expect(bundles).toEqual(expect.arrayContaining(["build/plugins/header-canary", "build/plugins/zone-affinity", "build/raw-plugins/header-canary-c", "build/raw-plugins/header-canary-rust", ...Object.keys(RUN_WITH)]));
    expect(bundles.filter((b) => b.startsWith("build/component-plugins/")).sort()).toEqual(Object.keys(RUN_WITH).sort());
  });

  it.each(bundles)("%s", async (dir) => {
    const opts = RUN_WITH[dir] ?? {};
    const r = await conform(join(REPO, dir), opts);
    expect(r.checks.filter((c) => c.status === "fail")).toEqual([]);
    expect(r.ok).toBe(true);
    // Every call kind the host makes was metered and is reported.
    expect(r.fuel.map((u) => u.kind)).toEqual(expect.arrayContaining(["configure", "set_hosts", "route (first over a new table)", "route"]));
    const largest = Math.max(...(opts.largeTables ?? [65_536]));
    expect(r.fuel.find((u) => u.kind === "set_hosts" && u.hosts === largest)?.maxUsed).toBeGreaterThan(0);
  }, 180_000);

  it("a component over its memory cap fails large-65536 naming its own memory's size, not the host's scratch area", async () => {
    const r = await conform(join(REPO, "build/component-plugins/header-canary"), { largeTables: [65_536], sandbox: { memoryPages: 256 } });
    const c = byId(r, "large-65536");
    expect(c.status).toBe("fail");
    // The grow that failed asked for pages past 256 while the memory held at most 256 and more than the
    // 96 pages a 10,000-host table takes.
    const m = /memory\.grow by (\d+) pages refused at (\d+) pages: past its cap of 256 pages/.exec(c.seen);
    expect(m, c.seen).not.toBeNull();
    const [by, at] = [Number(m![1]), Number(m![2])];
    expect(at).toBeLessThanOrEqual(256);
    expect(at).toBeGreaterThan(96);
    expect(at + by).toBeGreaterThan(256);
    expect(c.seen).toContain("budget.memoryPages in plugin.json raises the memory cap of 256 pages");
  }, 120_000);
});

describe("broken bundles fail the check that names their fault", () => {
  it("the C fixture as built passes: each macro below is what breaks it", async () => {
    expect(failed(await conform(broken.base!))).toEqual([]);
  }, 60_000);

  it("an out-of-range index fails every answer, naming the field and the table size", async () => {
    const r = await conform(broken.OUT_OF_RANGE!);
    expect(r.ok).toBe(false);
    const c = byId(r, "lifecycle");
    expect(c.status).toBe("fail");
    expect(c.seen).toMatch(/request #0 over 100 hosts .*answer failure: invalid answer: kept\[50\] index 100 is out of range \(table has 100 hosts\)/);
    expect(c.expected).toMatch(/indices in range/);
  }, 60_000);

  it("memory kept per call fails garbage-free, with the bytes per call and when the cap is reached", async () => {
    const r = await conform(broken.LEAK!);
    expect(failed(r)).toEqual(["garbage-free"]);
    expect(byId(r, "garbage-free").seen).toMatch(/memory kept growing: (\d+ → ){5}\d+ pages after each window of 10,000 calls, about 256 bytes kept per call; at this rate the 256-page cap is reached after about [\d,]+ more calls/);
  }, 60_000);

  it("a table id written again but not replaced fails table-swap, which one instance and one table never show", async () => {
    const r = await conform(broken.STALE_TABLE!);
    expect(failed(r)).toEqual(["table-swap"]);
    expect(byId(r, "table-swap").seen).toMatch(/^table swap \(50 hosts added, version 2\): request #0 .* answered accept 50 of 150 hosts .*; expected accept 75 of 150 hosts/);
  }, 60_000);

  it("an AssemblyScript bundle giving an index twice fails too (test/fixtures/dup-index)", async () => {
    const r = await conform(join(REPO, "test/fixtures/dup-index/bundle"));
    expect(byId(r, "lifecycle").status).toBe("fail");
    expect(byId(r, "lifecycle").seen).toMatch(/answer failure: .*given (twice|more than once)/);
  }, 60_000);

  it("a folder that is no bundle fails the load check and stops there", async () => {
    const empty = await mkdtemp(join(root, "empty-"));
    const r = await conform(empty);
    expect(r.checks.map((c) => [c.id, c.status])).toEqual([["load", "fail"]]);
    expect(r.checks[0]!.seen).toMatch(/metadata\.json/);
  });

  it("a pushed config the plugin refuses is reported with its message, and the old answers stay", async () => {
    const r = await conform(join(REPO, "build/plugins/header-canary"), { configs: ['{"header":""}'], largeTables: [] });
    const c = byId(r, "config-1");
    expect(c.status).toBe("pass");
    expect(c.seen).toMatch(/^refused: .*header/);
  }, 60_000);
});

describe("the command", () => {
  it("exits 0 on a conforming bundle and prints each check and the fuel table", async () => {
    const { stdout } = await run("node", [CLI, "conform", join(REPO, "build/raw-plugins/header-canary-c")]);
    expect(stdout).toMatch(/^PASS table-swap: /m);
    expect(stdout).toMatch(/^  set_hosts +65536 +1 +[\d,]+ +[\d,]+ +[\d.]+%$/m);
    expect(stdout).toMatch(/conform: 10 checks passed/);
  }, 60_000);

  it("exits 1 on a broken bundle, with expected and seen, in text and in --json", async () => {
    const text = await run("node", [CLI, "conform", broken.LEAK!]).catch((e: { code: number; stdout: string }) => e);
    expect((text as { code?: number }).code).toBe(1);
    expect(text.stdout).toMatch(/^FAIL garbage-free: .*\n {5}expected: .*\n {5}seen: memory kept growing/m);
    expect(text.stdout).toMatch(/conform: 1 of 10 checks failed/);
    const json = await run("node", [CLI, "conform", broken.LEAK!, "--json"]).catch((e: { code: number; stdout: string }) => e);
    expect((json as { code?: number }).code).toBe(1);
    const r = JSON.parse(json.stdout) as ConformReport;
    expect(r.ok).toBe(false);
    expect(byId(r, "garbage-free").status).toBe("fail");
  }, 60_000);

  it("exits 2 with the usage on a bad argument, and on a --config it cannot read", async () => {
    const bad = await run("node", [CLI, "conform", "--nope"]).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code?: number }).code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option --nope\nusage: switchyard conform/);
    const missing = join(root, "missing.json");
    const unread = await run("node", [CLI, "conform", broken.base!, "--config", missing]).catch((e: { code: number; stderr: string }) => e);
    expect((unread as { code?: number }).code).toBe(2);
    expect(unread.stderr).toContain(`--config ${missing}: cannot read`);
    for (const [args, says] of [
      [["--tables", "1000,0"], '--tables 1000,0: "0" is not a host count from 1 to 1,000,000'],
      [["--tables", "10k"], '--tables 10k: "10k" is not a host count'],
      [["--memory-pages", "lots"], "--memory-pages lots: expected a page count from 1 to 65536"],
      [["--calls", "5"], "--calls 5: expected a count from 100 to 10000000"],
    ] as const) {
      const e = await run("node", [CLI, "conform", broken.base!, ...args]).catch((x: { code: number; stderr: string }) => x);
      expect((e as { code?: number }).code).toBe(2);
      expect(e.stderr).toContain(says);
    }
  });

  it("--tables sets the large-table checks and --memory-pages the cap of a bundle that names none", async () => {
    const { stdout } = await run("node", [CLI, "conform", broken.base!, "--tables", "500,2000", "--memory-pages", "64", "--calls", "1000", "--json"]);
    const r = JSON.parse(stdout) as ConformReport;
    expect(r.checks.map((c) => c.id)).toEqual(expect.arrayContaining(["large-500", "large-2000"]));
    expect(r.checks.map((c) => c.id)).not.toContain("large-65536");
    expect(byId(r, "load").seen).toContain("memory capped at 64 pages");
    expect(byId(r, "garbage-free").seen).toMatch(/over the last 2,000 calls/);
  }, 60_000);
});

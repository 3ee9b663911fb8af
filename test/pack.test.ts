// `switchyard pack` (host/cli/pack.ts): a prebuilt core module becomes a bundle the host loads, with the same
// checks as `switchyard build`; bad input is refused with a message naming what and where, writing nothing.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBundle } from "../sdk/harness/index.js";
import { REPO } from "./fixtures/bundles.js";

const run = promisify(execFile);
let root: string;
const C_WASM = join(REPO, "build/wasm/header-canary-c.wasm");

async function pack(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run("node", [join(REPO, "bin/switchyard.js"), "pack", ...args], { cwd: root });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  if (!existsSync(C_WASM)) throw new Error(`${C_WASM}: missing; run \`make build\` first`);
  root = await mkdtemp(join(tmpdir(), "switchyard-pack-"));
  await copyFile(C_WASM, join(root, "plugin.wasm"));
  await copyFile(join(REPO, "plugins/header-canary-c/plugin.json"), join(root, "plugin.json"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("switchyard pack", () => {
  it("packs a C module with the plugin.json next to it into ./bundle, which the host loads", async () => {
    const r = await pack("plugin.wasm");
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^packed header-canary-c@1\.0\.0 \(order 10, \d+ bytes, sha256 [0-9a-f]{64}\) into bundle\n$/) });
    const meta = JSON.parse(await readFile(join(root, "bundle/metadata.json"), "utf8"));
    expect(meta).toMatchObject({ name: "header-canary-c", order: 10, abi: 1, wasm: "plugin.wasm", headers: ["x-canary"], failurePolicy: "open" });
    const p = await loadBundle(join(root, "bundle"));
    expect(p.route({ headers: { "x-canary": "1" } }, [{ address: "127.0.0.1:1", weight: 1, tags: { version: "canary" } }, { address: "127.0.0.1:2", weight: 1 }]).kept).toEqual([0]);
  });

  it("refuses a file that is not wasm, naming it, and writes nothing", async () => {
    await writeFile(join(root, "not.wasm"), "hello");
    const r = await pack("not.wasm", "--out", "nothing");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^switchyard pack: E_BUILD_MODULE: not\.wasm: the compiled module does not load: /);
    expect(existsSync(join(root, "nothing"))).toBe(false);
  });

  it("refuses a plugin.json with an unknown field, naming the file and the field", async () => {
    await writeFile(join(root, "bad.json"), '{"version":"1","colour":"red"}');
    const r = await pack("plugin.wasm", "--plugin-json", "bad.json", "--out", "nothing");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E_BUILD_PLUGIN_JSON: .*bad\.json: colour: expected no such field/);
    expect(existsSync(join(root, "nothing"))).toBe(false);
  });

  it("refuses a default config the module rejects, with the module's own message", async () => {
    await writeFile(join(root, "reject.json"), '{"version":"1","defaultConfig":{"header":"x","values":["1"],"others":"some"}}');
    const r = await pack("plugin.wasm", "--plugin-json", "reject.json", "--out", "nothing");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_BUILD_CONFIG_REJECTED: plugin.wasm: the plugin rejected its defaultConfig: config field "others": expected "non-canary" or "all", got "some"');
  });

  it("answers usage errors with exit status 2", async () => {
    expect((await pack()).code).toBe(2);
    expect((await pack("missing.wasm")).stderr).toMatch(/E_BUILD_USAGE: missing\.wasm: cannot read/);
  });
});

// switchyard.sy_fail (sdk/ABI.md §6): a C plugin fails a call with a UTF-8 message, and the host reports that
// message as the plugin failure's detail (E_PLUGIN_ABORT), as AssemblyScript's abort does.

import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageModule } from "../host/build/package.js";
import { parsePluginJson } from "../host/build/plugin-json.js";
import { loadBundle, type TestPlugin } from "../sdk/harness/index.js";
import { REPO } from "./fixtures/bundles.js";

let root: string;
let plugin: TestPlugin;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-sy-fail-"));
  const wasm = join(root, "fail.wasm");
  execFileSync("clang", ["--target=wasm32", "-nostdlib", "-O2", "-Wl,--no-entry", "-o", wasm, join(REPO, "test/fixtures/fail-c/fail.c")]);
  const json = parsePluginJson('{"version":"1"}', "plugin.json");
  const packed = await packageModule(await readFile(wasm), json, join(root, "bundle"), "fail.wasm", true);
  plugin = await loadBundle(packed.outDir);
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("sy_fail", () => {
  it("is an allowed import, and its message is the failure's detail", () => {
    expect(() => plugin.configure("fail")).toThrow(/failed \(abort\): configure: config "fail" asked to fail: ünïcode kept/);
  });

  it("leaves the plugin usable: the next call gets a fresh instance", () => {
    expect(plugin.configure("ok")).toEqual({ ok: true });
    expect(plugin.route({}, [{ address: "127.0.0.1:1", weight: 1 }]).kept).toEqual([0]);
  });
});

// `switchyard build`: a good plugin gives a bundle the host loads, whose sha256 matches; a compile error
// exits 1 naming file:line; a rejected default config, a bad plugin.json or bad arguments are refused.

import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildPlugin } from "../host/build/build-plugin.js";
import { BuildError } from "../host/build/errors.js";
import { parsePluginJson } from "../host/build/plugin-json.js";
import { run } from "../host/cli/build.js";
import { loadBundle } from "../sdk/harness/index.js";
import { REPO } from "./fixtures/bundles.js";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-build-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A plugin folder in the temp dir whose entry imports the repo's SDK. */
async function pluginDir(name: string, source: string, pluginJson: unknown): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, "assembly"), { recursive: true });
  const sdk = relative(join(dir, "assembly"), join(REPO, "sdk/assembly"));
  await writeFile(join(dir, "assembly/index.ts"), source.replaceAll("SDK", sdk));
  await writeFile(join(dir, "plugin.json"), typeof pluginJson === "string" ? pluginJson : JSON.stringify(pluginJson));
  return dir;
}

const GOOD = `import { Configured, ConfigReader, Handler, Hosts, register, Request, Result, RouterFactory } from "SDK";
export * from "SDK/abi/exports";
class H extends Handler {
  constructor(private tag: string) { super(); }
  route(request: Request, hosts: Hosts, result: Result): void { result.keepEach(hosts.withTag("env", this.tag)); }
}
class F extends RouterFactory {
  name(): string { return "env-pin"; }
  order(): i32 { return 42; }
  configure(config: string): Configured {
    const c = ConfigReader.parse(config);
    const env = c.requireString("env");
    if (!c.ok) return Configured.reject(c.error);
    return Configured.ok(new H(env));
  }
}
register(new F());
`;

const pluginJson = { version: "2.3.4", headers: ["x-env"], defaultConfig: { env: "prod" }, failurePolicy: "closed", budget: { fuel: 5000000, memoryPages: 64 } };

async function capture(f: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((s) => ((stderr += String(s)), true));
  try {
    return { code: await f(), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe("buildPlugin", () => {
  it("builds a bundle whose metadata matches the module and whose sha256 matches the wasm", async () => {
    const dir = await pluginDir("good", GOOD, pluginJson);
    const r = await buildPlugin(dir, undefined, { cwd: REPO });
    expect(r.outDir).toBe(join(dir, "bundle"));
    const wasm = await readFile(join(dir, "bundle/plugin.wasm"));
    const metadata = JSON.parse(await readFile(join(dir, "bundle/metadata.json"), "utf8"));
    expect(metadata).toEqual({
      name: "env-pin",
      version: "2.3.4",
      order: 42,
      abi: 1,
      wasm: "plugin.wasm",
      sha256: createHash("sha256").update(wasm).digest("hex"),
      headers: ["x-env"],
      defaultConfig: '{"env":"prod"}',
      failurePolicy: "closed",
      budget: { fuel: 5000000, memoryPages: 64 },
    });
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm)).map((i) => `${i.module}.${i.name}`);
    expect(imports.every((i) => i === "env.abort" || i === "switchyard.sy_log")).toBe(true);

    const p = await loadBundle(r.outDir);
    const hosts = [
      { address: "a:1", weight: 1, tags: { env: "dev" } },
      { address: "b:1", weight: 1, tags: { env: "prod" } },
    ];
    expect(p.route({}, hosts).keptAddresses).toEqual(["b:1"]);
  }, 60_000);

  it("refuses a default config the plugin rejects, with the plugin's message, and writes nothing", async () => {
    const dir = await pluginDir("rejects", GOOD, { ...pluginJson, defaultConfig: { env: 7 } });
    await expect(buildPlugin(dir, undefined, { cwd: REPO })).rejects.toMatchObject({
      code: "E_BUILD_CONFIG_REJECTED",
      message: 'rejects: the plugin rejected its defaultConfig: config field "env": expected a string, got number',
    });
    await expect(stat(join(dir, "bundle"))).rejects.toThrow(/ENOENT/);
    // --no-check builds it anyway: fixtures rely on that.
    await expect(buildPlugin(dir, join(root, "rejects-out"), { cwd: REPO, check: false })).resolves.toMatchObject({ metadata: { name: "env-pin" } });
  }, 60_000);

  it("refuses a module that imports what the host does not provide", async () => {
    const src = GOOD.replace("route(request: Request, hosts: Hosts, result: Result): void {", "route(request: Request, hosts: Hosts, result: Result): void { if (Math.random() > 2) return;");
    const dir = await pluginDir("random", src, pluginJson);
    await expect(buildPlugin(dir, undefined, { cwd: REPO })).rejects.toMatchObject({ code: "E_BUILD_MODULE", message: expect.stringMatching(/imports env\.seed; the host provides only switchyard\.sy_log, switchyard\.sy_fail and env\.abort/) });
  }, 60_000);

  it("refuses a module without the SDK exports, saying how to add them", async () => {
    const dir = await pluginDir("noexports", GOOD.replace('export * from "SDK/abi/exports";', ""), pluginJson);
    await expect(buildPlugin(dir, undefined, { cwd: REPO })).rejects.toMatchObject({ code: "E_BUILD_MODULE", message: expect.stringContaining("lacks required export(s) sy_abi_version, sy_reserve") });
  }, 60_000);
});

describe("switchyard build (CLI)", () => {
  it("prints the bundle it built and exits 0", async () => {
    const dir = await pluginDir("cli-good", GOOD, pluginJson);
    const out = join(root, "cli-out");
    const r = await capture(() => run([dir, "--out", out]));
    expect(r.code).toBe(0);
    const sha = createHash("sha256").update(await readFile(join(out, "plugin.wasm"))).digest("hex");
    expect(r.stdout).toContain(`built env-pin@2.3.4 (order 42,`);
    expect(r.stdout).toContain(`sha256 ${sha}`);
  }, 60_000);

  it("exits 1 on a compile error, naming file:line:column", async () => {
    const src = GOOD.replace('return "env-pin";', 'return undefinedName;');
    const dir = await pluginDir("broken", src, pluginJson);
    const r = await capture(() => run([dir]));
    expect(r.code).toBe(1);
    const file = relative(process.cwd(), join(dir, "assembly/index.ts"));
    expect(r.stderr).toMatch(new RegExp(`E_BUILD_COMPILE: .*\\n${file.replace(/[.]/g, "\\.")}:8:27: error TS2304: Cannot find name 'undefinedName'\\.`));
  }, 60_000);

  it("exits 1 when the default config is rejected, printing the plugin's message", async () => {
    const dir = await pluginDir("cli-rejects", GOOD, { ...pluginJson, defaultConfig: "{}" });
    const r = await capture(() => run([dir]));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_BUILD_CONFIG_REJECTED: cli-rejects: the plugin rejected its defaultConfig: config field "env": required, expected a non-empty string');
  }, 60_000);

  it.each([
    [[], "missing <plugin-dir>"],
    [["a", "b"], "unexpected argument b"],
    [["a", "--out"], "--out needs a directory"],
    [["a", "--fast"], "unknown option --fast"],
  ])("exits 2 on bad arguments %j", async (args, problem) => {
    const r = await capture(() => run(args));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(problem);
  });

  it("exits 2 for a folder without assembly/index.ts", async () => {
    const r = await capture(() => run([join(root, "nowhere")]));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("E_BUILD_USAGE");
    expect(r.stderr).toContain("no assembly/index.ts");
  });
});

describe("plugin.json", () => {
  it("stringifies a JSON defaultConfig and keeps a string one as is", () => {
    expect(parsePluginJson('{"version":"1","defaultConfig":{"a":[1]}}', "p.json").defaultConfig).toBe('{"a":[1]}');
    expect(parsePluginJson('{"version":"1","defaultConfig":"raw text"}', "p.json").defaultConfig).toBe("raw text");
    expect(parsePluginJson('{"version":"1"}', "p.json")).toMatchObject({ defaultConfig: "", headers: null, failurePolicy: "open" });
  });

  it.each([
    ["{", /p\.json: not valid JSON/],
    ["[]", /p\.json: \(root\): expected an object/],
    ["{}", /p\.json: version: expected a non-empty string/],
    ['{"version":"1","headers":"x"}', /headers: expected an array of header names/],
    ['{"version":"1","headers":["bad name"]}', /headers\[0\]: expected an HTTP header name/],
    ['{"version":"1","headers":["X-Up","x-up"]}', /headers: expected distinct names \("x-up" is listed twice\)/],
    ['{"version":"1","headers":["a","a"]}', /headers: expected distinct names \("a" is listed twice\)/],
    ['{"version":"1","failurePolicy":"maybe"}', /failurePolicy: expected "open" or "closed"/],
    ['{"version":"1","budget":{"fuel":-1}}', /budget\.fuel: expected a positive integer/],
    ['{"version":"1","budget":{"cpu":1}}', /budget\.cpu: expected no such field/],
    ['{"version":"1","name":"x"}', /name: expected no such field/],
  ])("refuses %s", (text, message) => {
    let error: unknown;
    try {
      parsePluginJson(text, "p.json");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).code).toBe("E_BUILD_PLUGIN_JSON");
    expect((error as BuildError).message).toMatch(message);
  });
});

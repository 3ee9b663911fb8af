// `switchyard build` as a function: plugin folder in, bundle folder (metadata.json + plugin.wasm, sdk/ABI.md
// §9) out. The bundle is compiled and checked in memory first; files are written only when all is well,
// the wasm before the metadata that names its sha256, each atomically.

import { createHash } from "node:crypto";
import { mkdir, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { ABI_VERSION } from "../abi/limits.js";
import { parseMetadata, type BundleMetadata } from "../plugin/bundle.js";
import { writeFileAtomic } from "../state/atomic-file.js";
import { compileEntry, type Diagnostic } from "./compile.js";
import { BuildError } from "./errors.js";
import { readPluginJson } from "./plugin-json.js";
import { probeModule } from "./probe.js";

export interface BuildOptions {
  /**
   * false skips the checks the host would make (exports, imports, ABI version, configure(defaultConfig)),
   * for fixtures that are broken on purpose. The metadata then says ABI 1 without asking the module, so
   * the host's own checks are the ones that meet the broken module.
   */
  readonly check?: boolean;
  /** Working directory that diagnostics' paths are relative to; process.cwd() by default. */
  readonly cwd?: string;
}

export interface BuildResult {
  readonly outDir: string;
  readonly wasmPath: string;
  readonly metadataPath: string;
  readonly metadata: BundleMetadata;
  readonly wasmBytes: number;
  readonly warnings: readonly Diagnostic[];
  /** What the plugin logged while its default config was tried. */
  readonly logs: readonly string[];
}

export const WASM_FILE = "plugin.wasm";

/**
 * Builds the plugin in `dir` into the bundle folder `out` (default `<dir>/bundle`).
 *
 * ```ts
 * const r = await buildPlugin("plugins/header-canary", "build/plugins/header-canary");
 * console.log(r.metadata.sha256);
 * ```
 */
export async function buildPlugin(dir: string, out?: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const check = opts.check ?? true;
  const pluginDir = resolve(dir);
  const outDir = resolve(out ?? join(pluginDir, "bundle"));
  const label = basename(pluginDir);
  const entry = join(pluginDir, "assembly", "index.ts");
  try {
    if (!(await stat(entry)).isFile()) throw new Error("not a file");
  } catch {
    throw new BuildError("E_BUILD_USAGE", `${dir}: no assembly/index.ts: a plugin folder holds assembly/index.ts and plugin.json`);
  }
  const pluginJson = await readPluginJson(pluginDir);
  const { wasm, warnings } = await compileEntry(entry, opts.cwd);

  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(wasm);
  } catch (err) {
    throw new BuildError("E_BUILD_MODULE", `${label}: the compiled module does not load: ${(err as Error).message}`, { cause: err });
  }
  const probed = probeModule(module, label, { check, defaultConfig: pluginJson.defaultConfig });

  const raw: Record<string, unknown> = {
    name: probed.name ?? label,
    version: pluginJson.version,
    order: probed.order ?? 0,
    abi: check ? probed.abi : ABI_VERSION,
    wasm: WASM_FILE,
    sha256: createHash("sha256").update(wasm).digest("hex"),
    headers: pluginJson.headers,
    defaultConfig: pluginJson.defaultConfig,
    failurePolicy: pluginJson.failurePolicy,
  };
  if (pluginJson.budget !== undefined) raw.budget = pluginJson.budget;
  let metadata: BundleMetadata;
  try {
    // The host's own metadata validation: a bundle that builds is a bundle the host can read.
    metadata = parseMetadata(raw, label);
  } catch (err) {
    throw new BuildError("E_BUILD_MODULE", `${label}: ${(err as Error).message}`, { cause: err });
  }

  const wasmPath = join(outDir, WASM_FILE);
  const metadataPath = join(outDir, "metadata.json");
  try {
    await mkdir(outDir, { recursive: true });
    await writeFileAtomic(wasmPath, wasm);
    await writeFileAtomic(metadataPath, JSON.stringify(raw, null, 2) + "\n");
  } catch (err) {
    throw new BuildError("E_BUILD_WRITE", `${label}: cannot write the bundle to ${outDir}: ${(err as Error).message}`, { cause: err });
  }
  return { outDir, wasmPath, metadataPath, metadata, wasmBytes: wasm.length, warnings, logs: probed.logs };
}

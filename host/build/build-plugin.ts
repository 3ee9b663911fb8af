// `switchyard build` as a function: plugin folder in, bundle folder (metadata.json + plugin.wasm, sdk/ABI.md
// §9) out. The bundle is compiled and checked in memory first; files are written only when all is well,
// the wasm before the metadata that names its sha256, each atomically.

import { stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { compileEntry, type Diagnostic } from "./compile.js";
import { buildAssemblyScriptComponent } from "./component.js";
import { BuildError } from "./errors.js";
import { packageModule, type PackResult } from "./package.js";
import { readPluginJson } from "./plugin-json.js";

export interface BuildOptions {
  /**
   * false skips the checks the host would make (exports, imports, ABI version, configure(defaultConfig)),
   * for fixtures that are broken on purpose. The metadata then says ABI 1 without asking the module, so
   * the host's own checks are the ones that meet the broken module.
   */
  readonly check?: boolean;
  /** Working directory that diagnostics' paths are relative to; process.cwd() by default. */
  readonly cwd?: string;
  /**
   * true builds a WebAssembly component of switchyard:router/plugin@1.0.0 (component.ts) instead of a raw
   * ABI v1 module: the same plugin source, the SDK's canonical-ABI glue next to it.
   */
  readonly component?: boolean;
}

export interface BuildResult extends PackResult {
  readonly warnings: readonly Diagnostic[];
}

export { WASM_FILE } from "./package.js";

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
  const { wasm, warnings } = opts.component ? await buildComponent(entry, opts.cwd) : await compileEntry(entry, opts.cwd);

  const packed = await packageModule(wasm, pluginJson, outDir, label, check);
  return { ...packed, warnings };
}

async function buildComponent(entry: string, cwd?: string): Promise<{ wasm: Uint8Array; warnings: Diagnostic[] }> {
  const { component, warnings } = await buildAssemblyScriptComponent(entry, cwd);
  return { wasm: component, warnings };
}

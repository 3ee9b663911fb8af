// `switchyard pack <module.wasm> [--plugin-json F] [--out DIR]`: package a prebuilt core module (C, Rust,
// any language that follows sdk/ABI.md) into a verified bundle, with the same probe, checks and metadata as
// `switchyard build`.

import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { BuildError } from "../build/errors.js";
import { packageModule } from "../build/package.js";
import { readPluginJsonFile } from "../build/plugin-json.js";
import { parseCommandArgs, str } from "./args.js";
import { buildErrorExit, printBundle } from "./bundle-report.js";

const USAGE = "usage: switchyard pack <module.wasm> [--plugin-json <file>] [--out <dir>]\n" +
  "  --plugin-json  the plugin's version, headers, defaultConfig, failurePolicy, budget (default: plugin.json next to the module)\n" +
  "  --out          the bundle folder to write (default: bundle next to the module)";

export async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs(args, { values: ["out", "plugin-json"] }, USAGE, usage);
  if (typeof p === "number") return p;
  const [wasmFile, extra] = p.positional;
  if (extra !== undefined) return usage(`unexpected argument ${extra}`);
  const out = str(p, "out");
  const pluginJson = str(p, "plugin-json");
  if (wasmFile === undefined) return usage("missing <module.wasm>");
  const dir = dirname(resolve(wasmFile));
  try {
    let wasm: Uint8Array;
    try {
      wasm = await readFile(wasmFile);
    } catch (err) {
      throw new BuildError("E_BUILD_USAGE", `${wasmFile}: cannot read: ${(err as Error).message}`, { cause: err });
    }
    const json = await readPluginJsonFile(resolve(pluginJson ?? join(dir, "plugin.json")));
    const r = await packageModule(wasm, json, resolve(out ?? join(dir, "bundle")), basename(wasmFile), true);
    printBundle("packed", r);
    return 0;
  } catch (err) {
    return buildErrorExit("pack", err);
  }
}

function usage(problem: string): number {
  process.stderr.write(`switchyard pack: ${problem}\n${USAGE}\n`);
  return 2;
}

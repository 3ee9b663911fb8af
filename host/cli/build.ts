// `switchyard build <plugin-dir> [--out <dir>] [--no-check]`: compile and package a plugin bundle.

import { buildPlugin } from "../build/build-plugin.js";
import { formatDiagnostic } from "../build/compile.js";
import { buildErrorExit, printBundle } from "./bundle-report.js";

const USAGE = "usage: switchyard build <plugin-dir> [--out <dir>] [--no-check] [--component]\n  --component  a WebAssembly component of switchyard:router/plugin@1.0.0 (sdk/wit) instead of a raw ABI v1 module";

export async function run(args: string[]): Promise<number> {
  let dir: string | undefined;
  let out: string | undefined;
  let check = true;
  let component = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--out") {
      out = args[++i];
      if (out === undefined || out.startsWith("--")) return usage("--out needs a directory");
    } else if (a.startsWith("--out=")) out = a.slice("--out=".length);
    else if (a === "--no-check") check = false;
    else if (a === "--component") component = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(USAGE + "\n");
      return 0;
    } else if (a.startsWith("-")) return usage(`unknown option ${a}`);
    else if (dir === undefined) dir = a;
    else return usage(`unexpected argument ${a}`);
  }
  if (dir === undefined) return usage("missing <plugin-dir>");
  try {
    const r = await buildPlugin(dir, out, { check, component });
    for (const w of r.warnings) process.stderr.write(formatDiagnostic(w) + "\n");
    printBundle("built", r);
    return 0;
  } catch (err) {
    return buildErrorExit("build", err);
  }
}

function usage(problem: string): number {
  process.stderr.write(`switchyard build: ${problem}\n${USAGE}\n`);
  return 2;
}

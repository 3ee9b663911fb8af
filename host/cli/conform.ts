// `switchyard conform <bundle> [--config F]... [--json]`: runs the ABI conformance suite (host/conform/suite.ts)
// against a bundle under the host's own sandbox, plugin lifecycle and chain. Exit status 0 when every check
// passed (warnings allowed), 1 when one failed, 2 for bad usage.

import { readFile } from "node:fs/promises";
import { parseCommandArgs } from "./args.js";
import { conform } from "../conform/suite.js";
import { formatReport } from "../conform/report.js";

const USAGE = "usage: switchyard conform <bundle-dir> [--config <file>]... [--json]\n" +
  "  --config  a config to push after the default one (repeatable); it must be accepted or refused with a message\n" +
  "  --json    print the report as JSON";

export async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs(args, { flags: ["json"], repeat: ["config"] }, USAGE, usage);
  if (typeof p === "number") return p;
  const [dir, extra] = p.positional;
  if (extra !== undefined) return usage(`unexpected argument ${extra}`);
  const json = p.options.has("json");
  const configFiles = p.all.get("config") ?? [];
  if (dir === undefined) return usage("missing <bundle-dir>");
  const configs: string[] = [];
  for (const f of configFiles) {
    try {
      configs.push(await readFile(f, "utf8"));
    } catch (err) {
      return usage(`--config ${f}: cannot read: ${(err as Error).message}`);
    }
  }
  const report = await conform(dir, { configs });
  process.stdout.write(json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report));
  return report.ok ? 0 : 1;
}

function usage(problem: string): number {
  process.stderr.write(`switchyard conform: ${problem}\n${USAGE}\n`);
  return 2;
}

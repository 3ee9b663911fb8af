// `switchyard conform <bundle> [--config F]... [--json]`: runs the ABI conformance suite (host/conform/suite.ts)
// against a bundle under the host's own sandbox, plugin lifecycle and chain. Exit status 0 when every check
// passed (warnings allowed), 1 when one failed, 2 for bad usage.

import { readFile } from "node:fs/promises";
import { conform } from "../conform/suite.js";
import { formatReport } from "../conform/report.js";

const USAGE = "usage: switchyard conform <bundle-dir> [--config <file>]... [--json]\n" +
  "  --config  a config to push after the default one (repeatable); it must be accepted or refused with a message\n" +
  "  --json    print the report as JSON";

export async function run(args: string[]): Promise<number> {
  let dir: string | undefined;
  let json = false;
  const configFiles: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--json") json = true;
    else if (a === "--config") {
      const v = args[++i];
      if (v === undefined || v.startsWith("--")) return usage("--config needs a file");
      configFiles.push(v);
    } else if (a === "--help" || a === "-h") {
      process.stdout.write(USAGE + "\n");
      return 0;
    } else if (a.startsWith("-")) return usage(`unknown option ${a}`);
    else if (dir === undefined) dir = a;
    else return usage(`unexpected argument ${a}`);
  }
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

// `switchyard conform <bundle> [--config F]... [--tables N,N] [--memory-pages N] [--calls N] [--json]`: runs the ABI conformance suite (host/conform/suite.ts)
// against a bundle under the host's own sandbox, plugin lifecycle and chain. Exit status 0 when every check
// passed (warnings allowed), 1 when one failed, 2 for bad usage.

import { readFile } from "node:fs/promises";
import { parseCommandArgs } from "./args.js";
import { conform } from "../conform/suite.js";
import { formatReport } from "../conform/report.js";

const USAGE = "usage: switchyard conform <bundle-dir> [--config <file>]... [--tables <n,n>] [--memory-pages <n>] [--calls <n>] [--json]\n" +
  "  --config        a config to push after the default one (repeatable); it must be accepted or refused with a message\n" +
  "  --tables        the host counts of the large-table checks (default 10000,65536)\n" +
  "  --memory-pages  the host's memory cap for a bundle whose plugin.json names none (default 256 pages)\n" +
  "  --calls         calls in each window of the garbage check (default 10000; a garbage-collected guest's heap\n" +
  "                  grows to its collector's threshold first, ~67 MiB for the JavaScript one: 60000)\n" +
  "  --json          print the report as JSON";

/** The largest table the suite builds: ABI v1 indexes hosts with u32, but a million is already ~80 MB encoded. */
const MAX_TABLE = 1_000_000;

export async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs(args, { flags: ["json"], values: ["tables", "memory-pages", "calls"], repeat: ["config"] }, USAGE, usage);
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
  let largeTables: number[] | undefined;
  const tables = p.options.get("tables");
  if (typeof tables === "string") {
    largeTables = tables.split(",").map((t) => Number(t));
    const bad = largeTables.findIndex((n) => !Number.isInteger(n) || n < 1 || n > MAX_TABLE);
    if (bad >= 0) return usage(`--tables ${tables}: ${JSON.stringify(tables.split(",")[bad])} is not a host count from 1 to ${MAX_TABLE.toLocaleString("en-US")}`);
  }
  let memoryPages: number | undefined;
  const pages = p.options.get("memory-pages");
  if (typeof pages === "string") {
    memoryPages = Number(pages);
    if (!Number.isInteger(memoryPages) || memoryPages < 1 || memoryPages > 65_536) return usage(`--memory-pages ${pages}: expected a page count from 1 to 65536`);
  }
  let calls: number | undefined;
  const callsText = p.options.get("calls");
  if (typeof callsText === "string") {
    calls = Number(callsText);
    if (!Number.isInteger(calls) || calls < 100 || calls > 10_000_000) return usage(`--calls ${callsText}: expected a count from 100 to 10000000`);
  }
  const report = await conform(dir, { configs, ...(largeTables ? { largeTables } : {}), ...(memoryPages ? { sandbox: { memoryPages } } : {}), ...(calls ? { calls } : {}) });
  process.stdout.write(json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report));
  return report.ok ? 0 : 1;
}

function usage(problem: string): number {
  process.stderr.write(`switchyard conform: ${problem}\n${USAGE}\n`);
  return 2;
}

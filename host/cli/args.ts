// A small, strict argument parser: `--name value` and `--flag`; an unknown option is an error naming it.

export interface ParsedArgs {
  readonly positional: string[];
  readonly options: Map<string, string | true>;
}

export class UsageError extends Error {
  readonly code = "E_USAGE";
}

export function parseArgs(args: readonly string[], spec: { values?: readonly string[]; flags?: readonly string[]; repeat?: readonly string[] }): ParsedArgs & { all: Map<string, string[]> } {
  const values = new Set(spec.values ?? []);
  const flags = new Set(spec.flags ?? []);
  const repeat = new Set(spec.repeat ?? []);
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  const all = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("--") || a === "-") {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (flags.has(name)) {
      options.set(name, true);
    } else if (values.has(name) || repeat.has(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`option --${name} needs a value`);
      options.set(name, v);
      all.set(name, [...(all.get(name) ?? []), v]);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positional, options, all };
}

export function str(p: ParsedArgs, name: string): string | undefined {
  const v = p.options.get(name);
  return typeof v === "string" ? v : undefined;
}

/**
 * parseArgs for a command with its own usage text: `--help` (or -h) prints `usageText` and yields 0, a usage error
 * goes to `usage` (which prints it and yields the exit status); otherwise the parsed arguments.
 */
export function parseCommandArgs(args: readonly string[], spec: { values?: readonly string[]; flags?: readonly string[]; repeat?: readonly string[] }, usageText: string, usage: (problem: string) => number): ReturnType<typeof parseArgs> | number {
  let p: ReturnType<typeof parseArgs>;
  try {
    p = parseArgs(args, { ...spec, flags: [...(spec.flags ?? []), "help"] });
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    throw err;
  }
  if (p.options.has("help") || p.positional.includes("-h")) {
    process.stdout.write(usageText + "\n");
    return 0;
  }
  return p;
}

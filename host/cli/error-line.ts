// How the CLI says that a command failed: one line on stderr, "switchyard <command>: <code>: <message>".

export function errorLine(command: string, err: unknown): string {
  const e = err as { code?: unknown; message?: string };
  return `switchyard ${command}: ${typeof e.code === "string" ? e.code + ": " : ""}${e.message ?? String(err)}\n`;
}

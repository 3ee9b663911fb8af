// How the CLI says that a command failed: one line on stderr, "switchyard <command>: <code>: <message>".

export function errorLine(command: string, err: unknown): string {
  const e = err as { code?: unknown; message?: string };
  return `switchyard ${command}: ${typeof e.code === "string" ? e.code + ": " : ""}${e.message ?? String(err)}\n`;
}

/** What an admin API error answer says, "<code>: <message>" from its JSON, or its text (trimmed) when it is not that JSON. */
export function adminErrorText(text: string): string {
  try {
    const e = JSON.parse(text) as { error: { code: string; message: string } };
    return `${e.error.code}: ${e.error.message}`;
  } catch {
    return text.trim();
  }
}

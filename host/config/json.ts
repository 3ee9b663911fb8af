// JSON.parse with a position that people can use: V8 reports "at position 1234", editors want line:column.

import { ConfigError } from "./errors.js";

export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const { line, column } = locate(text, message);
    const detail = message.replace(/^Unexpected/, "unexpected").replace(/ in JSON at position \d+.*$/, "").replace(/\s*\(line \d+ column \d+\)$/, "");
    throw new ConfigError("E_CONFIG_INVALID", source, [{ path: "", message: `malformed JSON at line ${line}, column ${column}: ${detail}` }], { cause: err });
  }
}

function locate(text: string, message: string): { line: number; column: number } {
  // Node 20 says "… at position N"; newer V8 also says "(line L column C)".
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /at position (\d+)/.exec(message);
  const offset = pos ? Number(pos[1]) : text.length; // no position: the text ended too early
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

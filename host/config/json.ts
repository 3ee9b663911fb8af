// JSON.parse with a position people can use: on failure the host's one JSON scanner (host/util/json-syntax.ts)
// finds the first bad character, and the error says line and column. The config is the operator's own text,
// so, unlike metadata.json's errors, this one quotes the character found there.

import { jsonSyntaxError } from "../util/json-syntax.js";
import { ConfigError } from "./errors.js";

export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const found = jsonSyntaxError(text);
    const message = found === null ? "invalid JSON" : `malformed JSON at line ${found.line}, column ${found.column}: ${found.atEnd || found.trailingComma ? "" : `unexpected ${JSON.stringify(text[found.index])}, `}${found.message}`;
    throw new ConfigError("E_CONFIG_INVALID", source, [{ path: "", message }], { cause: err });
  }
}

// JSON.parse with a position people can use. V8 names the position of only some syntax errors ("… is not
// valid JSON" has none), so on failure a small scanner walks the text again to find the first bad
// character, and the error says line and column.

import { ConfigError } from "./errors.js";

export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const found = findSyntaxError(text);
    const { line, column } = lineColumn(text, found.offset);
    throw new ConfigError("E_CONFIG_INVALID", source, [{ path: "", message: `malformed JSON at line ${line}, column ${column}: ${found.message}` }], { cause: err });
  }
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
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

class Stop {
  constructor(readonly offset: number, readonly message: string) {}
}

/** The offset and a description of the first syntax error; only called on text JSON.parse refused. */
function findSyntaxError(text: string): { offset: number; message: string } {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const fail = (what: string): never => {
    if (i >= text.length) throw new Stop(text.length, `unexpected end of input, expected ${what}`);
    throw new Stop(i, `unexpected ${JSON.stringify(text[i])}, expected ${what}`);
  };
  const str = () => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) throw new Stop(i, "control character inside a string (write it escaped)");
      if (text[i] === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) throw new Stop(i - 1, "bad \\u escape, expected 4 hex digits");
          i += 4;
        } else if (i >= text.length || !'"\\/bfnrt'.includes(text[i]!)) {
          throw new Stop(i - 1, "bad escape inside a string");
        }
      }
      i++;
    }
    if (i >= text.length) throw new Stop(text.length, "unexpected end of input inside a string");
    i++;
  };
  const value = (depth: number): void => {
    if (depth > 10_000) throw new Stop(i, "nested too deeply");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail("a property name in double quotes");
        str();
        ws();
        if (text[i] !== ":") fail('":" after a property name');
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === "}") throw new Stop(i, 'unexpected "}" after ",": trailing commas are not allowed');
          continue;
        }
        if (text[i] === "}") return void i++;
        fail('"," or "}"');
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          ws();
          if (text[i] === "]") throw new Stop(i, 'unexpected "]" after ",": trailing commas are not allowed');
          continue;
        }
        if (text[i] === "]") return void i++;
        fail('"," or "]"');
      }
    }
    if (c === '"') return str();
    const lit = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (lit === null) fail("a value");
    i += lit![0].length;
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail("the end of the document");
    return { offset: text.length, message: "invalid JSON" };
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, message: e.message };
    throw e;
  }
}

// Where a text stops being JSON (RFC 8259), said without quoting it: the one scanner of the host, for
// metadata.json (host/plugin/bundle.ts) and the config file (host/config/json.ts). JSON.parse's own messages
// quote the text around the error ("Unexpected token 'a', "admin-toke"... is not valid JSON"), which leaks a
// file of unknown origin into the log when metadata.json points at a secret, and V8 names the position of only
// some errors; this finds the place and says only its position and what was expected there. A caller that
// may quote its text (the operator's own config) adds the character itself.

export interface JsonSyntaxError {
  /** UTF-8 byte offset of the first byte that cannot continue the JSON text (the text's length at its end). */
  readonly offset: number;
  /** 1-based line and column (in characters) of that byte. */
  readonly line: number;
  readonly column: number;
  /** UTF-16 index of that character in the text (the text's length at its end). */
  readonly index: number;
  /** What the grammar allows there, e.g. "a value", "',' or '}'", "the end of the document". */
  readonly expected: string;
  /** The whole description, quoting nothing: "expected a value", "unexpected end of input, expected …", or a
   * trailing comma named as such. */
  readonly message: string;
  /** The text ends before the JSON does (what a file still being written looks like). */
  readonly atEnd: boolean;
  /** A ',' followed by the container's close. */
  readonly trailingComma: boolean;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** The first syntax error of `text`, or null when it is JSON. Iterative: any depth of nesting is fine. */
export function jsonSyntaxError(text: string): JsonSyntaxError | null {
  let i = 0;
  const at = (expected: string, trailingComma = false): JsonSyntaxError => position(text, i, expected, trailingComma);
  const skip = () => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  // What each open container waits for next: "value" after '[' or ',' in an array, "key" in an object, etc.
  const stack: ("array" | "object")[] = [];
  let afterComma = false;
  for (;;) {
    // A value.
    skip();
    const c = text[i];
    if (afterComma && c === "]") return at("a value", true);
    afterComma = false;
    if (c === "{" || c === "[") {
      i++;
      skip();
      if (c === "[") {
        if (text[i] === "]") i++;
        else {
          stack.push("array");
          continue;
        }
      } else if (text[i] === "}") i++;
      else {
        const err = key();
        if (err) return err;
        stack.push("object");
        continue;
      }
    } else if (c === '"') {
      const err = string();
      if (err) return err;
    } else if (text.startsWith("true", i)) i += 4;
    else if (text.startsWith("false", i)) i += 5;
    else if (text.startsWith("null", i)) i += 4;
    else {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) return at("a value");
      i += m[0].length;
    }
    // After a value: close containers or move to the next element.
    for (;;) {
      skip();
      const top = stack[stack.length - 1];
      if (top === undefined) return i === text.length ? null : at("the end of the document");
      const close = top === "array" ? "]" : "}";
      if (text[i] === close) {
        i++;
        stack.pop();
        continue;
      }
      if (text[i] !== ",") return at(`',' or '${close}'`);
      i++;
      if (top === "object") {
        skip();
        if (text[i] === "}") return at("a property name in double quotes", true);
        const err = key();
        if (err) return err;
      } else afterComma = true;
      break;
    }
  }

  // A member's name and its ':'; leaves i at the value.
  function key(): JsonSyntaxError | null {
    if (text[i] !== '"') return at("a property name in double quotes");
    const err = string();
    if (err) return err;
    skip();
    if (text[i] !== ":") return at('":" after a property name');
    i++;
    return null;
  }

  function string(): JsonSyntaxError | null {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) return at("the closing '\"' of a string");
      const code = text.charCodeAt(i);
      if (code === 0x22) {
        i++;
        return null;
      }
      if (code < 0x20) return at("a control character escaped (\\u00XX) inside a string");
      if (code === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 2;
            return at("four hex digits after \\u");
          }
          i += 6;
        } else if (e !== undefined && ESCAPES.has(e)) i += 2;
        else {
          i++;
          return at("an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)");
        }
      } else i++;
    }
  }
}

function position(text: string, index: number, expected: string, trailingComma: boolean): JsonSyntaxError {
  const { line, column } = lineColumn(text, index);
  const atEnd = index >= text.length;
  const message = trailingComma ? `trailing commas are not allowed, expected ${expected}` : atEnd ? `unexpected end of input, expected ${expected}` : `expected ${expected}`;
  return { offset: Buffer.byteLength(text.slice(0, index)), index, line, column, expected, message, atEnd, trailingComma };
}

/** 1-based line and column (in UTF-16 characters) of the character at `index`. */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = text.indexOf("\n"); k !== -1 && k < index; k = text.indexOf("\n", k + 1)) {
    line++;
    lineStart = k + 1;
  }
  return { line, column: index - lineStart + 1 };
}

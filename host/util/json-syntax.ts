// Where a text stops being JSON (RFC 8259), said without quoting it. JSON.parse's own messages quote the
// text around the error ("Unexpected token 'a', "admin-toke"... is not valid JSON"), which leaks a file of
// unknown origin into the log when metadata.json points at a secret; this finds the same place and says only
// its position and what was expected there.

export interface JsonSyntaxError {
  /** UTF-8 byte offset of the first byte that cannot continue the JSON text (the text's length at its end). */
  readonly offset: number;
  /** 1-based line and column (in characters) of that byte. */
  readonly line: number;
  readonly column: number;
  /** What the grammar allows there, e.g. "a value", "',' or '}'", "the end of the text". */
  readonly expected: string;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** The first syntax error of `text`, or null when it is JSON. Iterative: any depth of nesting is fine. */
export function jsonSyntaxError(text: string): JsonSyntaxError | null {
  let i = 0;
  const at = (expected: string): JsonSyntaxError => position(text, i, expected);
  const skip = () => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  // What each open container waits for next: "value" after '[' or ',' in an array, "key" in an object, etc.
  const stack: ("array" | "object")[] = [];
  for (;;) {
    // A value.
    skip();
    const c = text[i];
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
      if (top === undefined) return i === text.length ? null : at("the end of the text");
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
        const err = key();
        if (err) return err;
      }
      break;
    }
  }

  // A member's name and its ':'; leaves i at the value.
  function key(): JsonSyntaxError | null {
    if (text[i] !== '"') return at("a member name in double quotes");
    const err = string();
    if (err) return err;
    skip();
    if (text[i] !== ":") return at("':'");
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

function position(text: string, index: number, expected: string): JsonSyntaxError {
  const before = text.slice(0, index);
  const lastNewline = before.lastIndexOf("\n");
  let line = 1;
  for (let k = before.indexOf("\n"); k !== -1; k = before.indexOf("\n", k + 1)) line++;
  return { offset: Buffer.byteLength(before), line, column: index - lastNewline, expected };
}

// A small bounded JSON parser (RFC 8259) for plugin configs. It works on the UTF-8 bytes of the text, so
// every error names a byte offset, and it never aborts: malformed input gives an error, not a trap.
// Bounds: MAX_CONFIG_BYTES of input and MAX_JSON_DEPTH nested arrays/objects.

import { MAX_CONFIG_BYTES } from "./limits";

export const MAX_JSON_DEPTH: i32 = 64;

export const enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

/** A parsed JSON value. Read it with the isX / asX getters; an asX of the wrong kind aborts. */
export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  private b: bool = false;
  private n: f64 = 0;
  private s: string = "";
  private items: JsonValue[] = [];
  /** Object member names in document order (a repeated name keeps its last value, as JSON.parse). */
  keys: string[] = [];

  static ofNull(): JsonValue {
    return new JsonValue();
  }
  static ofBool(b: bool): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Bool;
    v.b = b;
    return v;
  }
  static ofNumber(n: f64): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Number;
    v.n = n;
    return v;
  }
  static ofString(s: string): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.String;
    v.s = s;
    return v;
  }
  static ofArray(items: JsonValue[]): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Array;
    v.items = items;
    return v;
  }
  static ofObject(keys: string[], values: JsonValue[]): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Object;
    v.keys = keys;
    v.items = values;
    return v;
  }

  get isNull(): bool {
    return this.kind == JsonKind.Null;
  }
  get isBool(): bool {
    return this.kind == JsonKind.Bool;
  }
  get isNumber(): bool {
    return this.kind == JsonKind.Number;
  }
  get isString(): bool {
    return this.kind == JsonKind.String;
  }
  get isArray(): bool {
    return this.kind == JsonKind.Array;
  }
  get isObject(): bool {
    return this.kind == JsonKind.Object;
  }
  /** Whether this is a number with no fractional part within the i32 range. */
  get isInteger(): bool {
    return this.kind == JsonKind.Number && Math.floor(this.n) == this.n && this.n >= -2147483648 && this.n <= 2147483647;
  }

  asBool(): bool {
    this.expect(JsonKind.Bool);
    return this.b;
  }
  asNumber(): f64 {
    this.expect(JsonKind.Number);
    return this.n;
  }
  asString(): string {
    this.expect(JsonKind.String);
    return this.s;
  }
  /** Array items, or object member values in the order of `keys`. */
  asArray(): JsonValue[] {
    if (this.kind != JsonKind.Array && this.kind != JsonKind.Object) this.expect(JsonKind.Array);
    return this.items;
  }

  /** Number of array items or object members; 0 otherwise. */
  get length(): i32 {
    return this.kind == JsonKind.Array || this.kind == JsonKind.Object ? this.items.length : 0;
  }

  /** The object member `key` (the last one if repeated), or null when absent or not an object. */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    for (let i = this.keys.length - 1; i >= 0; i--) if (unchecked(this.keys[i]) == key) return unchecked(this.items[i]);
    return null;
  }

  has(key: string): bool {
    return this.get(key) !== null;
  }

  /** "null", "boolean", "number", "string", "array" or "object": for error messages. */
  get kindName(): string {
    return kindName(this.kind);
  }

  private expect(kind: JsonKind): void {
    if (this.kind != kind) abort("JsonValue: expected " + kindName(kind) + ", got " + kindName(this.kind));
  }
}

/** `n` as JavaScript prints it for integers ("3", not AssemblyScript's "3.0"); other values as f64.toString. */
export function formatNumber(n: f64): string {
  if (Math.floor(n) == n && Math.abs(n) < 9007199254740992) return (<i64>n).toString();
  return n.toString();
}

export function kindName(kind: JsonKind): string {
  switch (kind) {
    case JsonKind.Null:
      return "null";
    case JsonKind.Bool:
      return "boolean";
    case JsonKind.Number:
      return "number";
    case JsonKind.String:
      return "string";
    case JsonKind.Array:
      return "array";
    default:
      return "object";
  }
}

/** The outcome of parseJson: a value, or an error message and the byte offset where parsing stopped. */
export class JsonParse {
  constructor(
    readonly value: JsonValue | null,
    readonly error: string,
    readonly offset: i32,
  ) {}
  get ok(): bool {
    return this.value !== null;
  }
}

/** Parse `text` as one JSON value. */
export function parseJson(text: string): JsonParse {
  const bytes = String.UTF8.encode(text);
  if (bytes.byteLength > MAX_CONFIG_BYTES) {
    return new JsonParse(null, "JSON text of " + bytes.byteLength.toString() + " bytes exceeds " + MAX_CONFIG_BYTES.toString() + " bytes", 0);
  }
  const p = new Parser(bytes);
  p.skipSpace();
  let value = p.value(0);
  if (value !== null) {
    p.skipSpace();
    if (p.pos < p.len) value = p.fail("unexpected " + p.describe() + " after the JSON value");
  }
  if (value === null) return new JsonParse(null, p.error + " at byte " + p.pos.toString(), p.pos);
  return new JsonParse(value, "", p.pos);
}

class Parser {
  pos: i32 = 0;
  error: string = "";

  private ptr: usize;
  len: i32;

  // Holding the buffer keeps it reachable: the parser reads it through a raw pointer while allocating.
  constructor(private bytes: ArrayBuffer) {
    this.ptr = changetype<usize>(bytes);
    this.len = bytes.byteLength;
  }

  fail(message: string): JsonValue | null {
    if (this.error.length == 0) this.error = message;
    return null;
  }

  peek(): i32 {
    return this.pos < this.len ? <i32>load<u8>(this.ptr + <usize>this.pos) : -1;
  }

  describe(): string {
    const c = this.peek();
    if (c < 0) return "end of input";
    if (c >= 0x20 && c < 0x7f) return "'" + String.fromCharCode(c) + "'";
    return "byte 0x" + c.toString(16);
  }

  skipSpace(): void {
    while (this.pos < this.len) {
      const c = load<u8>(this.ptr + <usize>this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }

  value(depth: i32): JsonValue | null {
    const c = this.peek();
    if (c == 0x7b) return this.object(depth + 1);
    if (c == 0x5b) return this.array(depth + 1);
    if (c == 0x22) {
      const s = this.string();
      return s === null ? null : JsonValue.ofString(s);
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.word("true")) return JsonValue.ofBool(true);
    if (this.word("false")) return JsonValue.ofBool(false);
    if (this.word("null")) return JsonValue.ofNull();
    return this.fail("expected a JSON value, got " + this.describe());
  }

  private word(w: string): bool {
    const n = w.length;
    if (this.len - this.pos < n) return false;
    for (let i = 0; i < n; i++) {
      if (<i32>load<u8>(this.ptr + <usize>(this.pos + i)) != w.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  private object(depth: i32): JsonValue | null {
    if (depth > MAX_JSON_DEPTH) return this.fail("nesting deeper than " + MAX_JSON_DEPTH.toString() + " levels");
    this.pos++; // {
    const keys = new Array<string>();
    const values = new Array<JsonValue>();
    this.skipSpace();
    if (this.peek() == 0x7d) {
      this.pos++;
      return JsonValue.ofObject(keys, values);
    }
    while (true) {
      if (this.peek() != 0x22) return this.fail("expected a member name string, got " + this.describe());
      const key = this.string();
      if (key === null) return null;
      this.skipSpace();
      if (this.peek() != 0x3a) return this.fail("expected ':' after member name \"" + key + "\", got " + this.describe());
      this.pos++;
      this.skipSpace();
      const v = this.value(depth);
      if (v === null) return null;
      keys.push(key);
      values.push(v);
      this.skipSpace();
      const c = this.peek();
      if (c == 0x7d) {
        this.pos++;
        return JsonValue.ofObject(keys, values);
      }
      if (c != 0x2c) return this.fail("expected ',' or '}' in an object, got " + this.describe());
      this.pos++;
      this.skipSpace();
    }
    return null;
  }

  private array(depth: i32): JsonValue | null {
    if (depth > MAX_JSON_DEPTH) return this.fail("nesting deeper than " + MAX_JSON_DEPTH.toString() + " levels");
    this.pos++; // [
    const items = new Array<JsonValue>();
    this.skipSpace();
    if (this.peek() == 0x5d) {
      this.pos++;
      return JsonValue.ofArray(items);
    }
    while (true) {
      const v = this.value(depth);
      if (v === null) return null;
      items.push(v);
      this.skipSpace();
      const c = this.peek();
      if (c == 0x5d) {
        this.pos++;
        return JsonValue.ofArray(items);
      }
      if (c != 0x2c) return this.fail("expected ',' or ']' in an array, got " + this.describe());
      this.pos++;
      this.skipSpace();
    }
    return null;
  }

  private number(): JsonValue | null {
    const start = this.pos;
    if (this.peek() == 0x2d) this.pos++;
    const first = this.peek();
    if (first == 0x30) this.pos++;
    else if (first >= 0x31 && first <= 0x39) this.digits();
    else return this.fail("expected a digit in a number, got " + this.describe());
    if (this.peek() == 0x2e) {
      this.pos++;
      if (this.digits() == 0) return this.fail("expected a digit after the decimal point, got " + this.describe());
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign == 0x2b || sign == 0x2d) this.pos++;
      if (this.digits() == 0) return this.fail("expected a digit in the exponent, got " + this.describe());
    }
    const text = String.UTF8.decodeUnsafe(this.ptr + <usize>start, <usize>(this.pos - start));
    return JsonValue.ofNumber(parseFloat(text));
  }

  private digits(): i32 {
    let n = 0;
    while (true) {
      const c = this.peek();
      if (c < 0x30 || c > 0x39) return n;
      this.pos++;
      n++;
    }
    return n;
  }

  /** A string starting at the opening quote; null (error set) when malformed. */
  string(): string | null {
    this.pos++; // "
    const start = this.pos;
    // Fast path: no escapes, the bytes are the string.
    while (this.pos < this.len) {
      const c = load<u8>(this.ptr + <usize>this.pos);
      if (c == 0x22) {
        const s = String.UTF8.decodeUnsafe(this.ptr + <usize>start, <usize>(this.pos - start));
        this.pos++;
        return s;
      }
      if (c == 0x5c) break;
      if (c < 0x20) return this.failString("control character 0x" + (<u32>c).toString(16) + " in a string (escape it)");
      this.pos++;
    }
    if (this.pos >= this.len) return this.failString("unterminated string starting at byte " + (start - 1).toString());
    return this.escaped(start);
  }

  private failString(message: string): string | null {
    this.fail(message);
    return null;
  }

  /** The slow path: a string with escapes; builds UTF-16 code units, so \uXXXX pairs come out as is. */
  private escaped(start: i32): string | null {
    let out = String.UTF8.decodeUnsafe(this.ptr + <usize>start, <usize>(this.pos - start));
    let runStart = this.pos;
    while (this.pos < this.len) {
      const c = load<u8>(this.ptr + <usize>this.pos);
      if (c == 0x22) {
        out += String.UTF8.decodeUnsafe(this.ptr + <usize>runStart, <usize>(this.pos - runStart));
        this.pos++;
        return out;
      }
      if (c < 0x20) return this.failString("control character 0x" + (<u32>c).toString(16) + " in a string (escape it)");
      if (c != 0x5c) {
        this.pos++;
        continue;
      }
      out += String.UTF8.decodeUnsafe(this.ptr + <usize>runStart, <usize>(this.pos - runStart));
      this.pos++;
      const e = this.peek();
      this.pos++;
      if (e == 0x22) out += "\"";
      else if (e == 0x5c) out += "\\";
      else if (e == 0x2f) out += "/";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x75) {
        const unit = this.hex4();
        if (unit < 0) return null;
        if (unit >= 0xd800 && unit <= 0xdbff) {
          // A high surrogate must be followed by an escaped low surrogate: together they are one character.
          if (!(this.peek() == 0x5c && this.pos + 1 < this.len && load<u8>(this.ptr + <usize>(this.pos + 1)) == 0x75)) {
            this.pos -= 6;
            return this.failString("high surrogate \\u" + (<u32>unit).toString(16) + " not followed by a low surrogate");
          }
          this.pos += 2;
          const low = this.hex4();
          if (low < 0) return null;
          if (low < 0xdc00 || low > 0xdfff) {
            this.pos -= 6;
            return this.failString("\\u" + (<u32>low).toString(16) + " after a high surrogate is not a low surrogate");
          }
          out += String.fromCharCodes([unit, low]);
        } else if (unit >= 0xdc00 && unit <= 0xdfff) {
          this.pos -= 6;
          return this.failString("lone low surrogate \\u" + (<u32>unit).toString(16));
        } else {
          out += String.fromCharCode(unit);
        }
      } else {
        this.pos -= 2;
        if (e < 0) return this.failString("unterminated string starting at byte " + (start - 1).toString());
        return this.failString("invalid escape \\" + (e >= 0x20 && e < 0x7f ? String.fromCharCode(e) : "0x" + (<u32>e).toString(16)) + " in a string");
      }
      runStart = this.pos;
    }
    this.pos = this.len;
    return this.failString("unterminated string starting at byte " + (start - 1).toString());
  }

  /** Four hex digits after "\u"; -1 (error set) otherwise. */
  private hex4(): i32 {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.peek();
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      if (d < 0) {
        this.fail("expected 4 hex digits after \\u, got " + this.describe());
        return -1;
      }
      v = (v << 4) | d;
      this.pos++;
    }
    return v;
  }
}

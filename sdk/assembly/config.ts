// Typed, validating access to a JSON object config. The first problem is kept as a message that names the
// field and what was expected, ready for Configured.reject:
//
//   const c = ConfigReader.parse(text);
//   const header = c.requireString("header");
//   const percent = c.optionalInt("percent", 10, 0, 100);
//   const shards = c.optionalStringMap("shards", new Map<string, string>());
//   c.allowOnly(["header", "percent"]);
//   if (!c.ok) return Configured.reject(c.error);

import { formatNumber, JsonValue, parseJson } from "./json";

export class ConfigReader {
  /** The first problem found, or "" while there is none. */
  error: string = "";

  private constructor(private root: JsonValue) {}

  /** Parse `text`, which must be a JSON object. */
  static parse(text: string): ConfigReader {
    const parsed = parseJson(text);
    const root = parsed.value;
    if (root === null) {
      const r = new ConfigReader(JsonValue.ofObject([], []));
      r.fail("config is not valid JSON: " + parsed.error);
      return r;
    }
    const r = new ConfigReader(root);
    if (!root.isObject) r.fail("config: expected a JSON object, got " + root.kindName);
    return r;
  }

  get ok(): bool {
    return this.error.length == 0;
  }

  /** Record `message` unless an earlier problem was recorded. */
  fail(message: string): void {
    if (this.error.length == 0) this.error = message;
  }

  has(field: string): bool {
    const v = this.root.get(field);
    return v !== null && !v.isNull;
  }

  /** The raw value of `field`, or null when absent. */
  value(field: string): JsonValue | null {
    return this.root.get(field);
  }

  requireString(field: string, allowEmpty: bool = false): string {
    const v = this.root.get(field);
    if (v === null || v.isNull) {
      this.fail("config field \"" + field + "\": required, expected a " + (allowEmpty ? "" : "non-empty ") + "string");
      return "";
    }
    return this.stringOf(field, v, allowEmpty);
  }

  optionalString(field: string, fallback: string, allowEmpty: bool = false): string {
    const v = this.root.get(field);
    if (v === null || v.isNull) return fallback;
    return this.stringOf(field, v, allowEmpty);
  }

  requireStringArray(field: string, allowEmpty: bool = false): string[] {
    const v = this.root.get(field);
    if (v === null || v.isNull) {
      this.fail("config field \"" + field + "\": required, expected an array of strings");
      return [];
    }
    return this.stringArrayOf(field, v, allowEmpty);
  }

  /** An empty array is accepted when `allowEmpty`, or when the fallback is empty itself: `[]` then means the default. */
  optionalStringArray(field: string, fallback: string[], allowEmpty: bool = false): string[] {
    const v = this.root.get(field);
    if (v === null || v.isNull) return fallback;
    return this.stringArrayOf(field, v, allowEmpty || fallback.length == 0);
  }

  /**
   * An object whose values are all strings, such as `{"shards": {"acme": "s1"}}`, as a Map in the config's
   * key order. Values must be non-empty unless `allowEmptyValues`; `{}` is refused unless `allowEmpty`.
   */
  requireStringMap(field: string, allowEmpty: bool = false, allowEmptyValues: bool = false): Map<string, string> {
    const v = this.root.get(field);
    if (v === null || v.isNull) {
      this.fail("config field \"" + field + "\": required, expected an object of strings");
      return new Map<string, string>();
    }
    return this.stringMapOf(field, v, allowEmpty, allowEmptyValues);
  }

  /** As requireStringMap, `fallback` when the field is absent or null; `{}` is accepted. */
  optionalStringMap(field: string, fallback: Map<string, string>, allowEmptyValues: bool = false): Map<string, string> {
    const v = this.root.get(field);
    if (v === null || v.isNull) return fallback;
    return this.stringMapOf(field, v, true, allowEmptyValues);
  }

  requireInt(field: string, min: i32, max: i32): i32 {
    const v = this.root.get(field);
    if (v === null || v.isNull) {
      this.fail("config field \"" + field + "\": required, expected an integer in " + min.toString() + ".." + max.toString());
      return min;
    }
    return this.intOf(field, v, min, max);
  }

  optionalInt(field: string, fallback: i32, min: i32, max: i32): i32 {
    const v = this.root.get(field);
    if (v === null || v.isNull) return fallback;
    return this.intOf(field, v, min, max);
  }

  requireBool(field: string): bool {
    const v = this.root.get(field);
    if (v === null || v.isNull) {
      this.fail("config field \"" + field + "\": required, expected true or false");
      return false;
    }
    return this.boolOf(field, v);
  }

  optionalBool(field: string, fallback: bool): bool {
    const v = this.root.get(field);
    if (v === null || v.isNull) return fallback;
    return this.boolOf(field, v);
  }

  /** Refuse fields outside `fields`: a typo in a config should not silently fall back to a default. */
  allowOnly(fields: string[]): void {
    const keys = this.root.keys;
    for (let i = 0; i < keys.length; i++) {
      if (!fields.includes(keys[i])) {
        this.fail("config field \"" + keys[i] + "\": unknown; expected one of " + fields.join(", "));
        return;
      }
    }
  }

  private stringOf(field: string, v: JsonValue, allowEmpty: bool): string {
    if (!v.isString) {
      this.fail("config field \"" + field + "\": expected a string, got " + v.kindName);
      return "";
    }
    const s = v.asString();
    if (!allowEmpty && s.length == 0) this.fail("config field \"" + field + "\": expected a non-empty string, got \"\"");
    return s;
  }

  private stringArrayOf(field: string, v: JsonValue, allowEmpty: bool): string[] {
    if (!v.isArray) {
      this.fail("config field \"" + field + "\": expected an array of strings, got " + v.kindName);
      return [];
    }
    const items = v.asArray();
    if (!allowEmpty && items.length == 0) {
      this.fail("config field \"" + field + "\": expected a non-empty array of strings, got []");
      return [];
    }
    const out = new Array<string>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!item.isString) {
        this.fail("config field \"" + field + "[" + i.toString() + "]\": expected a string, got " + item.kindName);
        return [];
      }
      out[i] = item.asString();
    }
    return out;
  }

  private stringMapOf(field: string, v: JsonValue, allowEmpty: bool, allowEmptyValues: bool): Map<string, string> {
    const out = new Map<string, string>();
    if (!v.isObject) {
      this.fail("config field \"" + field + "\": expected an object of strings, got " + v.kindName);
      return out;
    }
    const keys = v.keys;
    const values = v.asArray();
    if (!allowEmpty && keys.length == 0) {
      this.fail("config field \"" + field + "\": expected a non-empty object of strings, got {}");
      return out;
    }
    for (let i = 0; i < keys.length; i++) {
      const item = values[i];
      const where = "config field \"" + field + "." + keys[i] + "\"";
      if (!item.isString) {
        this.fail(where + ": expected a string, got " + item.kindName);
        return new Map<string, string>();
      }
      const s = item.asString();
      if (!allowEmptyValues && s.length == 0) {
        this.fail(where + ": expected a non-empty string, got \"\"");
        return new Map<string, string>();
      }
      out.set(keys[i], s);
    }
    return out;
  }

  private intOf(field: string, v: JsonValue, min: i32, max: i32): i32 {
    const range = min.toString() + ".." + max.toString();
    if (!v.isNumber) {
      this.fail("config field \"" + field + "\": expected an integer in " + range + ", got " + v.kindName);
      return min;
    }
    const n = v.asNumber();
    if (!v.isInteger || n < <f64>min || n > <f64>max) {
      this.fail("config field \"" + field + "\": expected an integer in " + range + ", got " + formatNumber(n));
      return min;
    }
    return <i32>n;
  }

  private boolOf(field: string, v: JsonValue): bool {
    if (!v.isBool) {
      this.fail("config field \"" + field + "\": expected true or false, got " + v.kindName);
      return false;
    }
    return v.asBool();
  }
}

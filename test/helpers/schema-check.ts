// A small JSON Schema walker: enough of draft 2020-12 for CONFIG_SCHEMA ($ref to $defs, type, properties,
// required, items, enum, const, bounds, pattern, oneOf / anyOf / allOf / not, if / then,
// additionalProperties). It lets tests hold configs to the documented structure without a schema library.

import type { ConfigProblem } from "../../host/config/types.js";
import { indexPath, keyPath } from "../../host/config/reader.js";

type Schema = { readonly [k: string]: unknown };

export interface SchemaCheckOptions {
  /** Report properties the schema does not list (where it lists any) as problems. */
  readonly strict?: boolean;
}

export function checkAgainstSchema(value: unknown, schema: Schema, options: SchemaCheckOptions = {}): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  walk(value, schema, schema, "", out, options.strict ?? false, true);
  return out;
}

// `own` is false for the applicators of an object's schema (allOf, then, oneOf, …): they see the same
// object, so only the object's own schema, knowing every property they declare, reports undeclared ones.
function walk(value: unknown, schema: Schema, root: Schema, path: string, out: ConfigProblem[], strict: boolean, own: boolean): void {
  const s = resolveRef(schema, root);
  if (s["type"] !== undefined && !typeMatches(value, s["type"] as string | string[])) {
    out.push({ path, message: `expected ${JSON.stringify(s["type"])}, got ${jsonType(value)}` });
    return;
  }
  if (s["enum"] !== undefined && !(s["enum"] as unknown[]).some((e) => e === value)) {
    out.push({ path, message: `expected one of ${JSON.stringify(s["enum"])}, got ${JSON.stringify(value)}` });
  }
  if ("const" in s && s["const"] !== value) out.push({ path, message: `expected ${JSON.stringify(s["const"])}` });
  if (typeof value === "number") {
    if (typeof s["minimum"] === "number" && value < s["minimum"]) out.push({ path, message: `expected ≥ ${s["minimum"]}, got ${value}` });
    if (typeof s["maximum"] === "number" && value > s["maximum"]) out.push({ path, message: `expected ≤ ${s["maximum"]}, got ${value}` });
  }
  if (typeof value === "string") {
    if (typeof s["minLength"] === "number" && value.length < s["minLength"]) out.push({ path, message: `expected at least ${s["minLength"]} characters` });
    if (typeof s["pattern"] === "string" && !new RegExp(s["pattern"], "u").test(value)) out.push({ path, message: `expected to match ${s["pattern"]}, got ${JSON.stringify(value)}` });
  }
  if (Array.isArray(value)) {
    if (typeof s["minItems"] === "number" && value.length < s["minItems"]) out.push({ path, message: `expected at least ${s["minItems"]} items` });
    if (s["items"] !== undefined) value.forEach((v, i) => walk(v, s["items"] as Schema, root, indexPath(path, i), out, strict, true));
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const key of (s["required"] as string[] | undefined) ?? []) {
      if (!(key in obj)) out.push({ path: keyPath(path, key), message: "required" });
    }
    const props = s["properties"] as Record<string, Schema> | undefined;
    const declared = own && strict && props !== undefined ? declaredKeys(s, root) : undefined;
    for (const [key, v] of Object.entries(obj)) {
      const where = keyPath(path, key);
      if (props?.[key] !== undefined) walk(v, props[key], root, where, out, strict, true);
      else if (s["additionalProperties"] !== undefined && typeof s["additionalProperties"] === "object") walk(v, s["additionalProperties"] as Schema, root, where, out, strict, true);
      else if (s["additionalProperties"] === false || (declared !== undefined && !declared.has(key))) out.push({ path: where, message: "not in the schema" });
    }
  }
  for (const sub of (s["allOf"] as Schema[] | undefined) ?? []) walk(value, sub, root, path, out, strict, false);
  if (s["anyOf"] !== undefined) {
    const ok = (s["anyOf"] as Schema[]).some((sub) => checkSub(value, sub, root, path, strict).length === 0);
    if (!ok) out.push({ path, message: "matches none of the allowed shapes (anyOf)" });
  }
  if (s["oneOf"] !== undefined) {
    const results = (s["oneOf"] as Schema[]).map((sub) => checkSub(value, sub, root, path, strict));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing !== 1) {
      const nearest = results.reduce((a, b) => (b.length < a.length ? b : a));
      out.push({ path, message: passing === 0 ? `matches none of the allowed shapes: ${nearest.map((p) => `${p.path}: ${p.message}`).join("; ")}` : "matches more than one shape (oneOf)" });
    }
  }
  if (s["not"] !== undefined && checkSub(value, s["not"] as Schema, root, path, strict).length === 0) out.push({ path, message: "matches a shape that is not allowed" });
  if (s["if"] !== undefined && checkSub(value, s["if"] as Schema, root, path, false).length === 0 && s["then"] !== undefined) {
    walk(value, s["then"] as Schema, root, path, out, strict, false);
  }
}

function checkSub(value: unknown, schema: Schema, root: Schema, path: string, strict: boolean): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  walk(value, schema, root, path, out, strict, false);
  return out;
}

/** Property names an object's schema declares, its allOf / then branches included. */
function declaredKeys(schema: Schema, root: Schema): Set<string> {
  const keys = new Set<string>();
  const visit = (sch: Schema): void => {
    const s = resolveRef(sch, root);
    for (const k of Object.keys((s["properties"] as object | undefined) ?? {})) keys.add(k);
    for (const sub of (s["allOf"] as Schema[] | undefined) ?? []) visit(sub);
    if (s["then"] !== undefined) visit(s["then"] as Schema);
  };
  visit(schema);
  return keys;
}

function resolveRef(schema: Schema, root: Schema): Schema {
  const ref = schema["$ref"];
  if (typeof ref !== "string") return schema;
  const m = /^#\/\$defs\/(.+)$/.exec(ref);
  const target = m ? (root["$defs"] as Record<string, Schema> | undefined)?.[m[1]!] : undefined;
  if (target === undefined) throw new Error(`schema: unresolvable $ref ${ref}`);
  return target;
}

function typeMatches(value: unknown, type: string | string[]): boolean {
  const types = Array.isArray(type) ? type : [type];
  return types.some((t) => {
    switch (t) {
      case "integer": return typeof value === "number" && Number.isInteger(value);
      case "number": return typeof value === "number";
      case "array": return Array.isArray(value);
      case "object": return value !== null && typeof value === "object" && !Array.isArray(value);
      case "null": return value === null;
      default: return typeof value === t;
    }
  });
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

// The exported JSON Schema checked by a real draft 2020-12 validator (ajv), as an editor or a CI step would
// check a config against `switchyard schema`: its problems in the parser's path notation, so that a test can
// hold the schema and parseConfig to the same answer for the same document.

import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import type { ConfigProblem } from "../../host/config/types.js";
import { indexPath, keyPath } from "../../host/config/reader.js";

type Schema = { readonly [k: string]: unknown };

export interface SchemaCheckOptions {
  /** Report properties the schema does not list (where it lists any) as problems: "not in the schema". */
  readonly strict?: boolean;
}

/**
 * A copy of `schema` where every object schema that lists properties refuses others. Conditionals (`if`, `then`,
 * `else`, `not`) stay as written: they see the same object as the schema around them, which lists all of its
 * properties; closed, they would refuse the ones they do not repeat. What they $ref is closed.
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "if" || k === "then" || k === "else" || k === "not") out[k] = v;
    else out[k] = k === "properties" ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, closed(s)])) : closed(v);
  }
  if ("properties" in out && !("additionalProperties" in out)) out.additionalProperties = false;
  return out;
}

/** A JSON pointer (ajv's instancePath) in the parser's notation: servers[0].listeners[0].address. */
function pathOf(pointer: string): string {
  let path = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    path = /^\d+$/.test(part) ? indexPath(path, Number(part)) : keyPath(path, part);
  }
  return path;
}

const validators = new Map<string, ReturnType<Ajv2020["compile"]>>();

function validatorFor(schema: Schema, strict: boolean): ReturnType<Ajv2020["compile"]> {
  const key = `${String(schema["$id"])}:${strict}`;
  let v = validators.get(key);
  if (v === undefined) {
    // allErrors: every problem, as parseConfig lists every problem; strictness about the schema itself stays on.
    v = new Ajv2020({ allErrors: true }).compile(strict ? (closed(schema) as Schema) : schema);
    validators.set(key, v);
  }
  return v;
}

export function checkAgainstSchema(value: unknown, schema: Schema, options: SchemaCheckOptions = {}): ConfigProblem[] {
  const validate = validatorFor(schema, options.strict ?? false);
  if (validate(value)) return [];
  const out: ConfigProblem[] = [];
  for (const e of validate.errors as ErrorObject[]) {
    // "must match then schema" only sums up the errors of the `then` branch, each reported on its own.
    if (e.keyword === "if") continue;
    if (e.keyword === "additionalProperties") {
      out.push({ path: keyPath(pathOf(e.instancePath), String(e.params.additionalProperty)), message: "not in the schema" });
    } else {
      out.push({ path: pathOf(e.instancePath), message: e.message ?? e.keyword });
    }
  }
  // One problem a path and message (ajv reports an alternative's failure once per branch tried).
  const seen = new Set<string>();
  return out.filter((p) => {
    const k = `${p.path}\n${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// What the config's readers take from the one schema (host/config/schema.ts) rather than write again: the
// fields of each kind of object (the normalizer warns about any other field, with a did-you-mean among these)
// and the bounds of each number. The exported JSON Schema, the parser's field lists, its number checks and its
// messages are then one description; test/config-schema.test.ts holds the parser and a JSON Schema validator
// (ajv) on the same schema to the same answers.

import { CONFIG_SCHEMA } from "./schema.js";
import type { NumberRule } from "./reader.js";

type Defs = typeof CONFIG_SCHEMA.$defs;
/** The kinds of object the schema gives properties to, and the root document. */
type Kind = { [K in keyof Defs]: Defs[K] extends { readonly properties: object } ? K : never }[keyof Defs];
type PropsOf<K extends Kind> = Defs[K] extends { readonly properties: infer P } ? P : never;

interface SchemaNode {
  readonly type?: string | readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly items?: SchemaNode;
  readonly anyOf?: readonly SchemaNode[];
  readonly oneOf?: readonly SchemaNode[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
}

const defs = CONFIG_SCHEMA.$defs as unknown as Readonly<Record<string, SchemaNode>>;

function fieldsOfDefs(): { readonly [K in Kind | "root"]: readonly string[] } {
  const out: Record<string, readonly string[]> = { root: Object.freeze(Object.keys(CONFIG_SCHEMA.properties)) };
  for (const [kind, def] of Object.entries(defs)) if (def.properties !== undefined) out[kind] = Object.freeze(Object.keys(def.properties));
  return Object.freeze(out) as { readonly [K in Kind | "root"]: readonly string[] };
}

/** The fields Switchyard reads, per kind of object: the schema's properties of each $defs entry. */
export const FIELDS = fieldsOfDefs();

/** The first number (or integer) schema of `node`, looking into an array's items and into anyOf / oneOf. */
function numberNode(node: SchemaNode): SchemaNode | undefined {
  if (node.type === "integer" || node.type === "number") return node;
  if (node.items !== undefined) return numberNode(node.items);
  for (const alt of [...(node.anyOf ?? []), ...(node.oneOf ?? [])]) {
    const found = numberNode(alt);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The bounds of number field `key` of `kind` (of its items, for an array of numbers), as the schema gives them.
 * Called when a reader module loads, so that a field the schema does not describe as a number fails every
 * start and every test, not one config.
 * @throws Error when the schema has no number schema for that field
 */
export function numberRule<K extends Kind>(kind: K, key: keyof PropsOf<K> & string): NumberRule {
  const prop = defs[kind]?.properties?.[key];
  const node = prop === undefined ? undefined : numberNode(prop);
  if (node === undefined) throw new Error(`host/config/schema.ts: $defs.${kind}.properties.${key} has no number schema`);
  const rule: { integer?: boolean; min?: number; max?: number } = {};
  if (node.type === "integer") rule.integer = true;
  if (node.minimum !== undefined) rule.min = node.minimum;
  if (node.maximum !== undefined) rule.max = node.maximum;
  return Object.freeze(rule);
}

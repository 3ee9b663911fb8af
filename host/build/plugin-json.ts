// plugin.json, the author's description of a plugin folder: what goes into metadata.json besides what the
// compiled module says of itself (name, order, ABI version) and the wasm's sha256.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BuildError } from "./errors.js";
import { type BundleBudget, type FailurePolicy, readSharedFields, SHARED_FIELDS } from "../plugin/bundle-fields.js";

export interface PluginJson {
  readonly version: string;
  /** Lowercase header names the plugin reads, or null for every header. */
  readonly headers: readonly string[] | null;
  /** Config text; a JSON value in plugin.json is stringified. */
  readonly defaultConfig: string;
  readonly failurePolicy: FailurePolicy;
  readonly budget: BundleBudget | undefined;
}

const FIELDS: ReadonlySet<string> = new Set(SHARED_FIELDS);

/** Parses a plugin.json text; every problem names `file` and the field. The rules are metadata.json's (bundle-fields.ts). */
export function parsePluginJson(text: string, file: string): PluginJson {
  const fail = (field: string, expected: string): never => {
    throw new BuildError("E_BUILD_PLUGIN_JSON", `${file}: ${field}: expected ${expected}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BuildError("E_BUILD_PLUGIN_JSON", `${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("(root)", "an object");
  const m = raw as Record<string, unknown>;
  // The other fields of metadata.json (name, order, sha256…) come from the module: here they are typos.
  for (const key of Object.keys(m)) if (!FIELDS.has(key)) fail(key, `no such field (known: ${[...FIELDS].join(", ")})`);
  const shared = readSharedFields(m, fail, { configAsJson: true });
  return Object.freeze({ ...shared, budget: m.budget === undefined ? undefined : shared.budget });
}

export async function readPluginJson(dir: string): Promise<PluginJson> {
  return readPluginJsonFile(join(dir, "plugin.json"));
}

/** Reads and parses the plugin.json at `file` (`switchyard pack --plugin-json`). */
export async function readPluginJsonFile(file: string): Promise<PluginJson> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new BuildError("E_BUILD_PLUGIN_JSON", `${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  return parsePluginJson(text, file);
}

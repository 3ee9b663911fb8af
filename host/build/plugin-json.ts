// plugin.json, the author's description of a plugin folder: what goes into metadata.json besides what the
// compiled module says of itself (name, order, ABI version) and the wasm's sha256.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BuildError } from "./errors.js";
import { LOWERCASE_HTTP_TOKEN } from "../util/http-token.js";

export interface PluginJson {
  readonly version: string;
  /** Lowercase header names the plugin reads, or null for every header. */
  readonly headers: readonly string[] | null;
  /** Config text; a JSON value in plugin.json is stringified. */
  readonly defaultConfig: string;
  readonly failurePolicy: "open" | "closed";
  readonly budget: Readonly<Record<string, number>> | undefined;
}

const FIELDS = new Set(["version", "headers", "defaultConfig", "failurePolicy", "budget"]);
const BUDGET_FIELDS = new Set(["cpuMs", "fuel", "memoryPages"]);

/** Parses a plugin.json text; every problem names `file` and the field. */
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
  for (const key of Object.keys(m)) if (!FIELDS.has(key)) fail(key, `no such field (known: ${[...FIELDS].join(", ")})`);
  if (typeof m.version !== "string" || m.version.length === 0 || m.version.length > 64) fail("version", "a non-empty string of at most 64 characters");
  let headers: string[] | null = null;
  if (m.headers !== undefined && m.headers !== null) {
    if (!Array.isArray(m.headers)) fail("headers", "an array of header names, or null for every header");
    headers = (m.headers as unknown[]).map((h, i) => {
      if (typeof h !== "string" || !LOWERCASE_HTTP_TOKEN.test(h)) fail(`headers[${i}]`, "a lowercase HTTP header name");
      return h as string;
    });
    const dup = headers.find((h, i) => headers!.indexOf(h) !== i);
    if (dup !== undefined) fail("headers", `distinct names ("${dup}" is listed twice)`);
  }
  let defaultConfig: string;
  if (m.defaultConfig === undefined) defaultConfig = "";
  else if (typeof m.defaultConfig === "string") defaultConfig = m.defaultConfig;
  else defaultConfig = JSON.stringify(m.defaultConfig);
  const failurePolicy = m.failurePolicy ?? "open";
  if (failurePolicy !== "open" && failurePolicy !== "closed") fail("failurePolicy", '"open" or "closed"');
  let budget: Record<string, number> | undefined;
  if (m.budget !== undefined) {
    if (typeof m.budget !== "object" || m.budget === null || Array.isArray(m.budget)) fail("budget", "an object");
    budget = {};
    for (const [key, value] of Object.entries(m.budget as Record<string, unknown>)) {
      if (!BUDGET_FIELDS.has(key)) fail(`budget.${key}`, `no such field (known: ${[...BUDGET_FIELDS].join(", ")})`);
      if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) fail(`budget.${key}`, "a positive integer");
      budget[key] = value as number;
    }
  }
  return Object.freeze({ version: m.version as string, headers: headers && Object.freeze(headers), defaultConfig, failurePolicy: failurePolicy as "open" | "closed", budget });
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

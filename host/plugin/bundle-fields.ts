// The fields plugin.json (host/build/plugin-json.ts) and metadata.json (bundle.ts) share, read by one set of
// rules: whatever a plugin.json the build accepts says, the metadata.json written from it is accepted by the
// host, and a metadata.json written by hand (switchyard pack, other languages: docs/other-languages.md) is
// held to the same rules. Each reader says how its own errors look; the rules and their wording live here.

import { MAX_CONFIG_BYTES, MAX_HEADERS } from "../abi/limits.js";
import { HTTP_TOKEN } from "../util/http-token.js";

export type FailurePolicy = "open" | "closed";

export interface BundleBudget {
  /** CPU budget of one call, in milliseconds of plugin work (converted to fuel by the sandbox). */
  readonly cpuMs?: number;
  /** Raw fuel units, when the author prefers them to milliseconds. */
  readonly fuel?: number;
  /** Memory cap in 64 KiB pages. */
  readonly memoryPages?: number;
}

export interface SharedFields {
  readonly version: string;
  /** Lowercase header names the plugin reads, or null for every header. */
  readonly headers: readonly string[] | null;
  readonly defaultConfig: string;
  readonly failurePolicy: FailurePolicy;
  readonly budget: BundleBudget;
}

/** Throws the reader's error for `field`, saying what was expected there. */
export type FieldFail = (field: string, expected: string) => never;

export interface SharedFieldOptions {
  /** plugin.json may give defaultConfig as a JSON value, which is stringified; metadata.json holds the text. */
  readonly configAsJson: boolean;
  /** The reader's error for a header list over MAX_HEADERS (metadata.json has a code of its own for it). */
  readonly tooManyHeaders?: (count: number) => never;
}

/** Names of the shared fields, for readers that refuse fields they do not know. */
export const SHARED_FIELDS: readonly string[] = Object.freeze(["version", "headers", "defaultConfig", "failurePolicy", "budget"]);
const BUDGET_FIELDS: readonly (keyof BundleBudget)[] = Object.freeze(["cpuMs", "fuel", "memoryPages"] as const);

export function readSharedFields(m: Readonly<Record<string, unknown>>, fail: FieldFail, opts: SharedFieldOptions): SharedFields {
  if (typeof m.version !== "string" || m.version.length === 0 || m.version.length > 64) fail("version", "a non-empty string of at most 64 characters");
  return Object.freeze({
    version: m.version as string,
    headers: readHeaders(m.headers, fail, opts),
    defaultConfig: readDefaultConfig(m.defaultConfig, fail, opts),
    failurePolicy: readFailurePolicy(m.failurePolicy, fail),
    budget: readBudget(m.budget, fail),
  });
}

function readHeaders(value: unknown, fail: FieldFail, opts: SharedFieldOptions): readonly string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) fail("headers", "an array of header names, or null for every header");
  const list = value as unknown[];
  // Checked before the names are: the host matches every request against this list (sdk/ABI.md §8).
  if (list.length > MAX_HEADERS) {
    if (opts.tooManyHeaders) opts.tooManyHeaders(list.length);
    fail("headers", `at most MAX_HEADERS (${MAX_HEADERS}) names, got ${list.length}; omit it or use null to read every header`);
  }
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const h = list[i];
    if (typeof h !== "string" || !HTTP_TOKEN.test(h)) fail(`headers[${i}]`, "an HTTP header name");
    const name = (h as string).toLowerCase();
    if (seen.has(name)) fail("headers", `distinct names ("${name}" is listed twice)`);
    seen.add(name);
  }
  return Object.freeze([...seen]);
}

function readDefaultConfig(value: unknown, fail: FieldFail, opts: SharedFieldOptions): string {
  let text: string;
  if (value === undefined) text = "";
  else if (typeof value === "string") text = value;
  else if (opts.configAsJson) text = JSON.stringify(value);
  else return fail("defaultConfig", "a string (the config text passed to configure)");
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) fail("defaultConfig", `at most MAX_CONFIG_BYTES (${MAX_CONFIG_BYTES}) bytes`);
  return text;
}

function readFailurePolicy(value: unknown, fail: FieldFail): FailurePolicy {
  const policy = value ?? "open";
  if (policy !== "open" && policy !== "closed") fail("failurePolicy", '"open" or "closed"');
  return policy as FailurePolicy;
}

function readBudget(value: unknown, fail: FieldFail): BundleBudget {
  const budget: { -readonly [K in keyof BundleBudget]: number } = {};
  if (value === undefined) return Object.freeze(budget);
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("budget", "an object");
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (!(BUDGET_FIELDS as readonly string[]).includes(key)) fail(`budget.${key}`, `no such field (known: ${BUDGET_FIELDS.join(", ")})`);
    // Fuel and pages are counted in whole units; milliseconds may be a fraction.
    if (key === "cpuMs") {
      if (typeof v !== "number" || !Number.isFinite(v) || !(v > 0)) fail(`budget.${key}`, "a positive number");
    } else if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) fail(`budget.${key}`, "a positive integer");
    budget[key as keyof BundleBudget] = v as number;
  }
  return Object.freeze(budget);
}

// MOSN writes host metadata, metadata_match and default_subset either as a plain map of tags or wrapped
// as Envoy does: {"filter_metadata": {"mosn.lb": {tags}}}. Both become one flat tag map.

import { keyPath, type Reader } from "./reader.js";
import type { Fallback } from "./types.js";

const LB_FILTER = "mosn.lb";

export function readTags(r: Reader, value: unknown, path: string): Record<string, string> {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && "filter_metadata" in value) {
    const obj = r.object(value, path, ["filter_metadata"]) ?? {};
    const where = keyPath(path, "filter_metadata");
    const filters = r.object(obj["filter_metadata"], where, [LB_FILTER]);
    if (filters === undefined || filters[LB_FILTER] === undefined) return {};
    return r.tags(filters[LB_FILTER], keyPath(where, LB_FILTER)) ?? {};
  }
  return r.tags(value, path) ?? {};
}

const FALLBACK_NAMES: Record<string, Fallback> = {
  "0": "none", nofallback: "none", no_fallback: "none", none: "none",
  "1": "any", anyendpoint: "any", any_endpoint: "any", any: "any",
  "2": "default", defaultsubset: "default", default_subset: "default", default: "default",
};

/** MOSN's fall_back_policy (0, 1, 2, "NoFallback", "AnyEndpoint", "DefaultSubset") or ours ("none", …). */
export function readFallback(r: Reader, value: unknown, path: string): Fallback | undefined {
  const key = typeof value === "number" || typeof value === "string" ? String(value).toLowerCase() : undefined;
  const found = key === undefined ? undefined : FALLBACK_NAMES[key];
  if (found === undefined) {
    return r.error(path, `expected 0 (NoFallback), 1 (AnyEndpoint), 2 (DefaultSubset) or "none", "any", "default", got ${JSON.stringify(value)}`);
  }
  return found;
}

// A cluster's host list as the admin API (PUT /clusters/<name>/hosts), etcd's host-list keys and
// `switchyard hosts` take it: the config's host shape, normalized before host/cluster/host-spec.ts validates it.

import { readTags } from "./metadata.js";
import { Reader } from "./reader.js";

/** Accepts a host list in the config's shape: metadata as a plain map or as MOSN's filter_metadata. */
export function normalizeHostList(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((h: unknown) => {
    if (typeof h !== "object" || h === null || Array.isArray(h)) return h;
    const o = h as Record<string, unknown>;
    // metadata is read by the config's own reader (readTags: a plain map or filter_metadata, numbers and
    // booleans as strings), so the admin API takes what a config file takes; what it refuses is left as it
    // is, for validateHostSpecs to name.
    let tags: unknown = o.tags ?? {};
    if (o.metadata !== undefined) {
      const r = new Reader();
      const read = readTags(r, o.metadata, "metadata");
      tags = r.problems.length === 0 ? read : o.metadata;
    }
    const out: Record<string, unknown> = { address: o.address, weight: o.weight ?? 1, tags };
    if (o.hostname !== undefined) out.hostname = o.hostname;
    if (o.healthy !== undefined) out.healthy = o.healthy;
    return out;
  });
}

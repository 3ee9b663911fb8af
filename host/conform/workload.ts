// What `switchyard conform` feeds a plugin: host tables and requests made from a seed (no clock, no
// Math.random: the same bundle gives the same report every run) and from the strings of the plugin's own
// config, so that a rule such as "keep version=canary when x-canary is 1" is exercised on both of its sides
// without the suite knowing the rule.

import type { RequestParts } from "../abi/codec.js";
import type { HostSpec } from "../cluster/types.js";
import { seeded } from "../util/seeded.js";

/** Headers asked when the plugin reads every header (metadata.json headers null). */
const USUAL_HEADERS = ["x-canary", "x-user", "x-zone", "x-tenant", "x-client", "x-version"];
const USUAL_VALUES = ["", "1", "0", "true", "false", "a", "b", "c", "v1", "v2", "canary", "prod"];
const USUAL_KEYS = ["zone", "version", "env"];
const KEY_RE = /^[a-z][a-z0-9_.-]{0,31}$/;

export interface Vocabulary {
  readonly headers: readonly string[];
  readonly values: readonly string[];
  readonly keys: readonly string[];
}

/**
 * Every string and number in a JSON config text (none when it is not JSON), at most 64, and the strings of
 * fields whose name says they name a tag (`tag`, `tagKey`, `label`, …): those become tag keys of the hosts.
 */
function configStrings(text: string): { strings: string[]; tagKeys: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { strings: [], tagKeys: [] };
  }
  const out = new Set<string>();
  const keys = new Set<string>();
  const walk = (v: unknown, field: string): void => {
    if (out.size >= 64) return;
    if (typeof v === "string" && v.length <= 64) {
      out.add(v);
      if (/^(tag|label|key)(key|name)?s?$/i.test(field) && KEY_RE.test(v)) keys.add(v);
    } else if (typeof v === "number") out.add(String(v));
    else if (Array.isArray(v)) v.forEach((x) => walk(x, field));
    else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(value, "");
  return { strings: [...out], tagKeys: [...keys] };
}

/** The headers, header values and tag keys the suite uses for a plugin with this config and header list. */
export function vocabulary(config: string, headers: readonly string[] | null): Vocabulary {
  const { strings, tagKeys } = configStrings(config);
  const named = strings.filter((s) => s.startsWith("x-") && KEY_RE.test(s));
  return {
    headers: headers ?? [...new Set([...USUAL_HEADERS, ...named])],
    values: [...new Set([...USUAL_VALUES, ...strings])],
    keys: [...new Set([...USUAL_KEYS, ...tagKeys])].slice(0, 16),
  };
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

/**
 * `count` hosts on 127.0.0.0/8 addresses (nothing is sent to them), each tagged with every usual key and
 * some of the config's, values drawn from the vocabulary; a few unhealthy. `salt` makes another table.
 */
export function hostTable(count: number, v: Vocabulary, seed: number, salt = 0): HostSpec[] {
  const r = seeded(seed * 7919 + salt);
  const hosts: HostSpec[] = [];
  for (let i = 0; i < count; i++) {
    const tags: Record<string, string> = {};
    for (const k of v.keys) if (USUAL_KEYS.includes(k) || r() < 0.5) tags[k] = pick(r, v.values);
    const n = i + salt * 131;
    hosts.push({ address: `127.${1 + ((n >>> 16) & 127)}.${(n >>> 8) & 255}.${n & 255}:${8000 + (salt % 1000)}`, weight: 1 + (i % 5), tags, healthy: r() >= 0.05 });
  }
  return hosts;
}

/** `count` requests over the vocabulary's headers: each header absent, once, or twice, with drawn values. */
export function requests(count: number, v: Vocabulary, seed: number): RequestParts[] {
  const r = seeded(seed * 104_729 + 1);
  const out: RequestParts[] = [];
  for (let i = 0; i < count; i++) {
    const raw: string[] = [];
    for (const h of v.headers) {
      const x = r();
      if (x < 0.25) continue;
      raw.push(h, i % 7 === 6 ? `u${Math.floor(r() * 100_000)}` : pick(r, v.values));
      if (x > 0.95) raw.push(h, pick(r, v.values));
    }
    out.push({ method: i % 5 === 4 ? "POST" : "GET", path: i % 3 === 0 ? "/" : `/api/items/${i}?q=${i}`, authority: "conform.local", rawHeaders: raw });
  }
  return out;
}

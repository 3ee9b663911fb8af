// Validation of host specs: every check names the cluster, the host's index and the field. The result is
// a frozen copy, so nothing the caller still holds can change a validated list.

import { isIPv4, isIPv6 } from "node:net";
import { setImmediate } from "node:timers/promises";
import { MAX_HOSTS, MAX_TAGS_PER_HOST, MAX_WEIGHT } from "../abi/limits.js";
import { DuplicateHostError, HostSpecError, TooManyHostsError } from "./errors.js";
import type { HostSpec } from "./types.js";

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;
const PORT = /^[0-9]{1,5}$/;

/** Why `address` is not "host:port", or null when it is. Hosts are IPv4, [IPv6] or DNS names. */
function addressProblem(address: string): string | null {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return `"${address}" is not "host:port"`;
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (!PORT.test(port)) return `port "${port}" of "${address}" is not a number`;
  const n = Number(port);
  if (n < 1 || n > 65535) return `port ${n} of "${address}" is outside 1..65535`;
  if (host.startsWith("[")) {
    if (!host.endsWith("]") || !isIPv6(host.slice(1, -1))) return `"${host}" of "${address}" is not a bracketed IPv6 address`;
    return null;
  }
  if (host.includes(":")) return `IPv6 host of "${address}" must be in brackets, as "[::1]:80"`;
  if (isIPv4(host)) return null;
  if (/^[0-9.]+$/.test(host)) return `"${host}" of "${address}" is not a valid IPv4 address`;
  if (host.length > 253 || !host.split(".").every((l) => LABEL.test(l))) return `"${host}" of "${address}" is not a valid host name`;
  return null;
}

/** The key two addresses collide on: DNS names are case-insensitive. */
function addressKey(address: string): string {
  return address.toLowerCase();
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function validateOne(cluster: string, index: number, raw: unknown): HostSpec {
  const bad = (field: string, problem: string) => new HostSpecError(cluster, index, field, problem);
  if (!isPlainObject(raw)) throw new HostSpecError(cluster, index, "", "expected an object with address, weight and tags");
  const { address, hostname, weight, tags, healthy } = raw;
  if (typeof address !== "string") throw bad("address", "expected a string \"host:port\"");
  const problem = addressProblem(address);
  if (problem !== null) throw bad("address", problem);
  if (hostname !== undefined && (typeof hostname !== "string" || hostname.length === 0 || hostname.length > 253)) {
    throw bad("hostname", "expected a non-empty string of at most 253 characters");
  }
  const w = weight === undefined ? 1 : weight;
  if (typeof w !== "number" || !Number.isInteger(w) || w < 1 || w > MAX_WEIGHT) {
    throw bad("weight", `${JSON.stringify(weight)} is not an integer in 1..${MAX_WEIGHT}`);
  }
  const t = tags === undefined ? {} : tags;
  if (!isPlainObject(t)) throw bad("tags", "expected an object of string values");
  const entries = Object.entries(t);
  if (entries.length > MAX_TAGS_PER_HOST) throw bad("tags", `${entries.length} tags, at most ${MAX_TAGS_PER_HOST} allowed`);
  const copy: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (k.length === 0) throw bad("tags", "a tag key is empty");
    if (typeof v !== "string") throw bad(`tags.${k}`, `expected a string, got ${typeof v}`);
    copy[k] = v;
  }
  if (healthy !== undefined && typeof healthy !== "boolean") throw bad("healthy", "expected true or false");
  const spec: HostSpec = {
    address,
    ...(hostname !== undefined ? { hostname } : {}),
    weight: w,
    tags: Object.freeze(copy),
    ...(healthy !== undefined ? { healthy } : {}),
  };
  return Object.freeze(spec);
}

// The lists this module returned: Cluster.update need not check them a second time (~110 ms for 50,000).
const VALIDATED = new WeakSet<readonly HostSpec[]>();

/** Whether `list` is one validateHostSpecs or validateHostSpecsInSlices returned (frozen, checked in full). */
export function isValidatedHostList(list: unknown): list is readonly HostSpec[] {
  return typeof list === "object" && list !== null && VALIDATED.has(list as readonly HostSpec[]);
}

/** Specs validated per slice by validateHostSpecsInSlices: a few ms of work between two event-loop turns. */
export const HOST_SLICE = 2_000;

class ListCheck {
  private readonly seen = new Map<string, number>();
  readonly out: HostSpec[] = [];

  constructor(
    private readonly cluster: string,
    private readonly specs: readonly unknown[],
  ) {}

  /** Checks specs from..to-1, in order: the first bad one throws, naming its index. */
  run(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const spec = validateOne(this.cluster, i, this.specs[i]);
      const key = addressKey(spec.address);
      const first = this.seen.get(key);
      if (first !== undefined) throw new DuplicateHostError(this.cluster, i, spec.address, first);
      this.seen.set(key, i);
      this.out.push(spec);
    }
  }

  result(): readonly HostSpec[] {
    const list = Object.freeze(this.out);
    VALIDATED.add(list);
    return list;
  }
}

function startCheck(cluster: string, specs: unknown): ListCheck {
  if (!Array.isArray(specs)) throw new HostSpecError(cluster, -1, "hosts", "expected an array of hosts");
  if (specs.length > MAX_HOSTS) throw new TooManyHostsError(cluster, specs.length, MAX_HOSTS);
  return new ListCheck(cluster, specs);
}

/**
 * Checks a whole host list: "host:port" with port 1..65535, weight 1..MAX_WEIGHT (default 1), string
 * tags, at most MAX_HOSTS hosts, no address twice. Returns frozen copies in the given order.
 */
export function validateHostSpecs(cluster: string, specs: unknown): readonly HostSpec[] {
  const check = startCheck(cluster, specs);
  check.run(0, (specs as unknown[]).length);
  return check.result();
}

/**
 * validateHostSpecs in slices of HOST_SLICE specs with an event-loop turn between them, so that a list of
 * 50,000 hosts does not stall the requests in flight. The caller must not change `specs` meanwhile.
 */
export async function validateHostSpecsInSlices(cluster: string, specs: unknown): Promise<readonly HostSpec[]> {
  const check = startCheck(cluster, specs);
  const n = (specs as unknown[]).length;
  for (let from = 0; from < n; from += HOST_SLICE) {
    if (from > 0) await setImmediate();
    check.run(from, Math.min(n, from + HOST_SLICE));
  }
  return check.result();
}

/** Whether two validated specs say the same thing (tag order matters: it is the host table's order). */
export function sameSpec(a: HostSpec, b: HostSpec): boolean {
  if (a.address !== b.address || a.hostname !== b.hostname || a.weight !== b.weight) return false;
  if ((a.healthy ?? true) !== (b.healthy ?? true)) return false;
  const ka = Object.keys(a.tags);
  const kb = Object.keys(b.tags);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || a.tags[k] !== b.tags[k]) return false;
  }
  return true;
}

// A cluster's settings, validated and frozen: everything about a cluster except its host list.

import { ClusterConfigError, ClusterError } from "./errors.js";
import { MAX_HASH_REPLICAS, normalizeLbPolicy, type LbPolicy } from "./lb/index.js";
import type { HostSpec } from "./types.js";
import { HTTP_TOKEN } from "../util/http-token.js";
import { clusterNameProblem } from "./cluster-name.js";

/**
 * What to do when the chain leaves no host (Envoy's and MOSN's subset fallback): `none` fails the request
 * (503), `any` uses the whole cluster, `default` the hosts carrying every tag of `defaultSubset`.
 */
export type Fallback = "none" | "any" | "default";

/** A cluster as a config file or a push gives it: the input of a Cluster (its settings and hosts). */
export interface ClusterInput {
  readonly name: string;
  /** Our names (round_robin, …) or MOSN's (LB_ROUNDROBIN, …); default round_robin. */
  readonly lbPolicy?: string;
  readonly fallback?: Fallback;
  readonly defaultSubset?: Readonly<Record<string, string>>;
  /** The request header whose value ring_hash / maglev hash on. */
  readonly hashHeader?: string;
  readonly hashReplicas?: number;
  readonly hosts?: readonly HostSpec[];
}

export interface ClusterSettings {
  readonly name: string;
  readonly lbPolicy: LbPolicy;
  readonly fallback: Fallback;
  readonly defaultSubset: Readonly<Record<string, string>>;
  /** Lowercase, as header names reach plugins and balancers. */
  readonly hashHeader: string | undefined;
  readonly hashReplicas: number | undefined;
}

const FALLBACKS: readonly Fallback[] = ["none", "any", "default"];

export function validateClusterSettings(raw: unknown): ClusterSettings {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ClusterConfigError("?", "", "expected an object with a name");
  }
  const c = raw as Record<string, unknown>;
  const name = c["name"];
  const problem = typeof name === "string" ? clusterNameProblem(name) : "expected a string";
  if (typeof name !== "string" || problem !== null) throw new ClusterConfigError(String(name), "name", problem!);
  const bad = (field: string, problem: string) => new ClusterConfigError(name, field, problem);

  let lbPolicy: LbPolicy;
  try {
    lbPolicy = normalizeLbPolicy(c["lbPolicy"] === undefined ? "round_robin" : (c["lbPolicy"] as string));
  } catch (err) {
    throw bad("lbPolicy", err instanceof ClusterError ? err.message : String(err));
  }

  const fallback = c["fallback"] === undefined ? "none" : c["fallback"];
  if (typeof fallback !== "string" || !FALLBACKS.includes(fallback as Fallback)) {
    throw bad("fallback", `${JSON.stringify(fallback)} is not one of ${FALLBACKS.join(", ")}`);
  }

  const rawSubset = c["defaultSubset"] === undefined ? {} : c["defaultSubset"];
  if (typeof rawSubset !== "object" || rawSubset === null || Array.isArray(rawSubset)) {
    throw bad("defaultSubset", "expected an object of tag values");
  }
  const defaultSubset: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawSubset)) {
    if (typeof v !== "string") throw bad(`defaultSubset.${k}`, `expected a string, got ${typeof v}`);
    defaultSubset[k] = v;
  }
  if (fallback === "default" && Object.keys(defaultSubset).length === 0) {
    throw bad("defaultSubset", 'fallback "default" needs at least one tag');
  }

  const rawHeader = c["hashHeader"];
  let hashHeader: string | undefined;
  if (rawHeader !== undefined) {
    if (typeof rawHeader !== "string" || !HTTP_TOKEN.test(rawHeader)) {
      throw bad("hashHeader", `${JSON.stringify(rawHeader)} is not a header name`);
    }
    hashHeader = rawHeader.toLowerCase();
  }

  const hashReplicas = c["hashReplicas"];
  if (hashReplicas !== undefined && (typeof hashReplicas !== "number" || !Number.isInteger(hashReplicas) || hashReplicas < 1 || hashReplicas > MAX_HASH_REPLICAS)) {
    throw bad("hashReplicas", `${JSON.stringify(hashReplicas)} is not an integer in 1..${MAX_HASH_REPLICAS}`);
  }

  return Object.freeze({
    name,
    lbPolicy,
    fallback: fallback as Fallback,
    defaultSubset: Object.freeze(defaultSubset),
    hashHeader,
    hashReplicas: hashReplicas as number | undefined,
  });
}

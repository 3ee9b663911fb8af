// `explain`: for a sample request, with no upstream call, what the host would do and why — the route matched,
// each plugin of the chain in order with hosts in → out, its metadata and verdict, the fallback if it applied,
// and the host the balancer would pick. The same code serves the CLI and POST /explain.

import { SwitchyardError } from "../util/coded-error.js";
import type { ClusterManager } from "../cluster/cluster-manager.js";
import type { RandomSource, Subset } from "../cluster/types.js";
import type { Config, ListenerConfig } from "../config/types.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { GRPC_STATUS_NAMES } from "../util/grpc-codes.js";
import { HandlerStatus, handlerFor, narrowByTags } from "../route/handler.js";
import { unparsedHeadRefusal } from "../server/request-head.js";
import { buildRouting, type RoutingState } from "../server/routing.js";
import { routeStep } from "../server/route-step.js";
import { deadlineOf, decideStopped } from "../server/decision.js";
import { isGrpc } from "../proxy/grpc.js";

export interface SampleRequest {
  readonly method?: string;
  readonly path?: string;
  readonly authority?: string;
  readonly headers?: Readonly<Record<string, string>> | readonly (readonly [string, string])[];
  readonly listener?: string;
}

export interface ExplainDeps {
  readonly config: Config;
  readonly clusters: ClusterManager;
  readonly registry: PluginRegistry;
  /**
   * The listener's routing, as its pipeline routes with it: a running host gives its own (host.ts); without,
   * it is compiled from `config` as `run` would (without TLS credentials: explain forwards nothing).
   */
  readonly routing?: (listener: ListenerConfig) => RoutingState;
  readonly random?: RandomSource;
}

export interface PluginExplanation {
  plugin: string;
  order: number;
  in: number;
  out: number;
  outcome: string;
  kept?: string[];
  metadata?: Record<string, string>;
  failure?: string;
}

export interface Explanation {
  request: { method: string; path: string; authority: string; headers: [string, string][] };
  listener: string;
  route: string | null;
  virtualHost?: string;
  direct?: { status: number; body: string };
  cluster?: string;
  clusterHosts?: number;
  plugins: PluginExplanation[];
  decision: string;
  fallback?: string;
  candidates?: string[];
  pick?: string | null;
  /** `grpcStatus`: the gRPC status a Reject names (sdk/ABI.md §5.2), present only when it names one. */
  verdict?: { kind: string; status?: number; body?: string; grpcStatus?: number; waitMs?: number; plugin: string };
}

/** A sample that cannot be explained: E_EXPLAIN (400), or what the listener would answer to its head (request-head.ts). */
class ExplainError extends SwitchyardError {
  constructor(message: string, code = "E_EXPLAIN", readonly status: number = 400) {
    super(code, message);
  }
}

const SHOW_HOSTS = 20;

function addresses(subset: Subset): string[] {
  const out: string[] = [];
  for (let i = 0; i < subset.count && out.length < SHOW_HOSTS; i++) out.push(subset.snapshot.hosts[subset.indices === null ? i : subset.indices[i]!]!.address);
  if (subset.count > SHOW_HOSTS) out.push(`… ${subset.count - SHOW_HOSTS} more`);
  return out;
}

/** Header names and values as a listener gets them: strings, nothing else (a nested value is refused, not printed). */
function headerPairs(h: SampleRequest["headers"]): [string, string][] {
  if (h === undefined) return [];
  const shape = "headers: expected an object of name → string value or an array of [name, value] strings";
  if (typeof h !== "object" || h === null) throw new ExplainError(shape);
  const pairs: unknown[] = Array.isArray(h) ? h : Object.entries(h);
  return pairs.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") {
      throw new ExplainError(`${shape}; ${Array.isArray(h) ? `headers[${i}]` : `headers[${JSON.stringify(String((p as unknown[])[0]))}]`} is not`);
    }
    return [p[0], p[1]];
  });
}

function text(sample: Record<string, unknown>, key: string, fallback: string): string {
  const v = sample[key];
  if (v === undefined) return fallback;
  if (typeof v !== "string") throw new ExplainError(`${key}: expected a string`);
  return v;
}

export function explain(deps: ExplainDeps, sample: SampleRequest): Explanation {
  if (typeof sample !== "object" || sample === null || Array.isArray(sample)) throw new ExplainError("the sample request must be a JSON object");
  const fields = sample as unknown as Record<string, unknown>;
  const headers = headerPairs(sample.headers);
  const lower = new Map(headers.map(([k, v]) => [k.toLowerCase(), v]));
  const method = text(fields, "method", "GET");
  const path = text(fields, "path", "/");
  if (!path.startsWith("/")) throw new ExplainError(`path: expected a path starting with "/", got ${JSON.stringify(path)}`);
  // What a listener would refuse before routing, explain refuses too, with the listener's status and code.
  const refused = unparsedHeadRefusal(method, path, headers.flat());
  if (refused !== null) throw new ExplainError(refused.message, refused.code, refused.status);
  const authority = text(fields, "authority", lower.get("host") ?? "localhost");
  const listenerName = text(fields, "listener", "");
  const listener = listenerName ? deps.config.listeners.find((l) => l.name === listenerName) : deps.config.listeners[0];
  if (listener === undefined) throw new ExplainError(listenerName ? `listener ${listenerName} is not in the config` : "the config has no listener");
  const out: Explanation = { request: { method, path, authority, headers }, listener: listener.name, route: null, plugins: [], decision: "" };

  const routing = deps.routing?.(listener) ?? buildRouting(deps.config, listener.routerConfigName, new Map(), listener.upstreamProtocol);
  const request = { method, path, authority, rawHeaders: headers.flat() };
  // The request path's own steps in a dry run: the route step (server/route-step.ts), then its handler
  // (handlerFor, as the pipeline) and chain, the same decision made once, with what each plugin kept on its
  // step, and no counter or failure count of a live plugin moved (chain.ts).
  const step = routeStep(routing, deps.clusters, deps.random ?? Math.random, request, (n) => lower.get(n), { withSteps: true, dryRun: true });
  if (step.kind === "no-route") return { ...out, decision: "404: no route matches" };
  if (step.kind === "direct") return { ...out, route: step.route.label, virtualHost: step.virtualHost, direct: { status: step.action.status, body: step.action.body }, decision: `direct response ${step.action.status}` };
  const m = step.match;
  out.route = m.route.label;
  out.virtualHost = m.virtualHost;
  if (step.kind === "no-cluster") return { ...out, cluster: step.cluster, decision: `503: cluster ${step.cluster} not found` };
  const action = m.action;
  const cluster = step.clusterState;
  out.cluster = step.cluster;
  const snapshot = cluster.snapshot();
  out.clusterHosts = snapshot.hosts.length;
  const chain = deps.registry.chainFor(action.plugins);
  const r = handlerFor(chain).isAvailable(step, deps.clusters);
  for (const s of r.steps) {
    const e: PluginExplanation = { plugin: s.plugin, order: chain.plugins.find((p) => p.name === s.plugin)?.order ?? 0, in: s.in, out: s.out, outcome: s.outcome };
    if (s.kept) e.kept = addresses(s.kept);
    if (s.metadata) e.metadata = Object.fromEntries(s.metadata);
    if (s.failure) e.failure = s.failure.message;
    out.plugins.push(e);
  }
  if (r.status === HandlerStatus.Available) {
    const hv = cluster.settings.hashHeader ? lower.get(cluster.settings.hashHeader) : undefined;
    // A balancer with no state of its own: the live one's cursor stays where the next request finds it.
    const pick = cluster.dryRunBalancer(deps.random).pick(r.subset, { hashKey: hv });
    const result: Explanation = { ...out, decision: r.fallback ? `fallback ${r.fallback}: no plugin left a host` : "route to the kept hosts", candidates: addresses(r.subset), pick: pick?.address ?? null };
    if (r.fallback) result.fallback = r.fallback;
    if (step.metadataMatch) result.decision += `, narrowed by metadata_match ${JSON.stringify(step.metadataMatch)} (${narrowByTags(r.subset, step.metadataMatch).count} hosts)`;
    return result;
  }
  // The request path's own next step (server/decision.ts), for the sample as it arrives: no wait yet, no time spent.
  const grpc = isGrpc(lower.get("content-type"));
  const d = decideStopped(r, action, step.cluster, snapshot, { waits: 0, elapsedMs: 0, deadlineMs: deadlineOf(action, grpc, lower.get("grpc-timeout")), grpc });
  const v = r.status === HandlerStatus.Stop ? r.verdict : undefined;
  if (d.kind === "wait") return { ...out, decision: `wait ${d.waitMs} ms, then decide again`, verdict: { kind: "wait", waitMs: d.waitMs, plugin: d.plugin } };
  if (d.kind === "await-host") return { ...out, decision: `wait up to ${d.remainingMs} ms for a host of cluster ${step.cluster} to become available (none is now), then decide again` };
  const a = d.answer;
  if (v?.kind === "reject") {
    if (v.grpcStatus === null) return { ...out, decision: `reject ${v.status}`, verdict: { kind: "reject", status: v.status, body: v.body, plugin: v.plugin } };
    return { ...out, decision: `reject ${v.status}, a gRPC call grpc-status ${v.grpcStatus} ${GRPC_STATUS_NAMES[v.grpcStatus]}`, verdict: { kind: "reject", status: v.status, body: v.body, grpcStatus: v.grpcStatus, plugin: v.plugin } };
  }
  const answered: Explanation = { ...out, decision: `${a.status} ${a.reason}: ${a.body}` };
  if (v?.kind === "wait") answered.verdict = { kind: "wait", waitMs: v.waitMs, plugin: v.plugin };
  return answered;
}

/** A terminal rendering of an explanation. */
export function formatExplanation(e: Explanation): string {
  const lines = [`${e.request.method} ${e.request.path}  (Host: ${e.request.authority}, listener ${e.listener})`];
  lines.push(`route     ${e.route ?? "(none)"}${e.virtualHost ? `  [virtual host ${e.virtualHost}]` : ""}`);
  if (e.cluster) lines.push(`cluster   ${e.cluster} (${e.clusterHosts ?? 0} hosts)`);
  for (const p of e.plugins) {
    let l = `plugin    ${p.plugin.padEnd(16)} order ${String(p.order).padStart(3)}  ${String(p.in).padStart(5)} → ${String(p.out).padEnd(5)} ${p.outcome}`;
    if (p.metadata) l += `  metadata ${JSON.stringify(p.metadata)}`;
    if (p.failure) l += `  failure: ${p.failure}`;
    lines.push(l);
    if (p.kept) lines.push(`          kept ${p.kept.join(", ") || "(none)"}`);
  }
  lines.push(`decision  ${e.decision}`);
  if (e.candidates) lines.push(`hosts     ${e.candidates.join(", ")}`);
  if (e.pick !== undefined) lines.push(`pick      ${e.pick ?? "(none available)"}`);
  return lines.join("\n");
}

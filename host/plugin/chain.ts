// The router chain: plugins in ascending order (ties by name), each offered what the previous one kept. It
// speaks subsets of indices into the snapshot's host table; hosts are encoded into a plugin once per snapshot.
// A chain is immutable: a new bundle, a new config or an order change builds a new chain, swapped in whole.

import type { ClusterSnapshot, Subset } from "../cluster/types.js";
import { HeaderFilter, type RequestParts } from "../abi/codec.js";
import { KeptChecker, rejectGrpcStatus } from "../abi/answer.js";
import { SharedRequest } from "../abi/shared-request.js";
import { PluginFailure } from "./errors.js";
import { PluginCounters, TIMING_EVERY } from "./counters.js";
import { type InstanceFailure, type PluginInstance, failureOf } from "./instance.js";
import type { RouterPlugin } from "./plugin.js";
import { CallSampler } from "./call-sampler.js";
import { InstanceState } from "./instance-state.js";
import { StableSets, hasTags, intersect, intersectInto, narrowed } from "./stable-sets.js";
import type { TableRegistry } from "./table-registry.js";

/** What one plugin did to one request, for the access log, metrics and `explain`. */
export interface ChainStep {
  readonly plugin: string;
  readonly in: number;
  readonly out: number;
  readonly outcome: "accept" | "reject" | "wait" | "failed" | "quarantined";
  readonly metadata?: readonly [string, string][];
  readonly failure?: PluginFailure;
  /** Wall time of the plugin's call, marshaling included, in milliseconds (absent when not called). */
  readonly ms?: number;
  /** In a dry run: the offer this step hands on (accept, or a failure or quarantine that fails open). */
  readonly kept?: Subset;
}

/** The steps of a decision made without them (PluginChain.run withSteps false), shared and frozen. */
export const NO_STEPS: readonly ChainStep[] = Object.freeze([]);
const NO_METADATA: readonly [string, string][] = Object.freeze([]);

export type ChainDecision =
  | { readonly outcome: "accept"; readonly subset: Subset; readonly metadata: readonly [string, string][]; readonly steps: readonly ChainStep[] }
  | { readonly outcome: "reject"; readonly status: number; readonly body: string; readonly grpcStatus: number | null; readonly plugin: string; readonly steps: readonly ChainStep[] }
  | { readonly outcome: "wait"; readonly waitMs: number; readonly plugin: string; readonly steps: readonly ChainStep[] }
  | { readonly outcome: "fail"; readonly failure: PluginFailure; readonly steps: readonly ChainStep[] };

function sortPlugins(plugins: readonly RouterPlugin[]): RouterPlugin[] {
  return [...plugins].sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Where a dry run counts: nobody reads it, so that explain moves no counter of a live plugin. */
const DRY_RUN_COUNTERS = new PluginCounters();

export class PluginChain {
  readonly plugins: readonly RouterPlugin[];
  // Scratch reused by every run: run() is synchronous, so one request never sees another's state.
  private offered = new Uint32Array(64);
  private readonly kept = new KeptChecker();
  private readonly states = new WeakMap<PluginInstance, InstanceState>();
  private readonly slotInstances: (PluginInstance | undefined)[] = [];
  private readonly slotStates: (InstanceState | undefined)[] = [];
  private readonly sets = new StableSets();
  /** The request, encoded once per run for every plugin (slot i: this.plugins[i]). */
  private readonly request: SharedRequest;
  /** Which runs are timed (one in TIMING_EVERY, counters.ts). */
  private readonly sampler: CallSampler;

  constructor(plugins: readonly RouterPlugin[], private readonly tables: TableRegistry, timingEvery = TIMING_EVERY) {
    this.plugins = Object.freeze(sortPlugins(plugins));
    this.request = new SharedRequest(this.plugins.map((p) => (p.headers === null ? null : new HeaderFilter(p.headers))));
    this.sampler = new CallSampler(timingEvery);
  }

  private stateOf(slot: number, inst: PluginInstance): InstanceState {
    // The instance of a slot changes only when its plugin fails: remembered per slot, not looked up.
    if (this.slotInstances[slot] === inst) return this.slotStates[slot]!;
    let st = this.states.get(inst);
    if (st === undefined) this.states.set(inst, (st = new InstanceState()));
    this.slotInstances[slot] = inst;
    this.slotStates[slot] = st;
    return st;
  }

  /**
   * Runs the chain for one request over `snapshot`. With `withSteps` false the decision carries no steps
   * (NO_STEPS): the request path asks for them only when an access log line can be written, since the
   * counters every plugin keeps (counters.ts) are what the metrics read. With `dryRun` (explain) the same
   * decision is made on instances of its own (RouterPlugin.dryRunInstance), without moving a counter or a
   * plugin's failure count: it can never quarantine a live plugin, grow or break a live instance's memory, or
   * make the next request re-instantiate one. Each step carries the offer it hands on.
   */
  run(req: RequestParts, snapshot: ClusterSnapshot, withSteps = true, dryRun = false): ChainDecision {
    if (dryRun) withSteps = true;
    const hostCount = snapshot.hosts.length;
    const steps: ChainStep[] | null = withSteps ? [] : null;
    // The offer: every host (cur null), a stable set (a group or a memoized set, never written), or the
    // first `count` entries of the scratch array this.offered.
    let cur: Uint32Array | null = null;
    let stable = true;
    let count = hostCount;
    let metadata: readonly [string, string][] | null = null;
    if (this.offered.length < hostCount) this.offered = new Uint32Array(Math.max(hostCount, this.offered.length * 2));
    const plugins = this.plugins;
    if (plugins.length === 0) return { outcome: "accept", subset: { snapshot, indices: null, count: hostCount }, metadata: NO_METADATA, steps: steps ?? NO_STEPS };
    const tableId = this.tables.idOf(snapshot.cluster);
    this.request.encode(req);
    const encodedTable = this.tables.encode(snapshot);
    const timed = !dryRun && this.sampler.start();

    for (let slot = 0; slot < plugins.length; slot++) {
      const plugin = plugins[slot]!;
      const counters = dryRun ? DRY_RUN_COUNTERS : plugin.counters;
      let inst: PluginInstance | null;
      try {
        inst = dryRun ? plugin.dryRunInstance() : plugin.instance();
      } catch (err) {
        // Only a dry run throws here: the instance it would have called cannot be made. Nothing is counted.
        const f = err as InstanceFailure;
        const failure = new PluginFailure(f.kind, plugin.name, plugin.version, `instantiation: ${f.detail}`);
        steps!.push({ plugin: plugin.name, in: count, out: count, outcome: "failed", failure, kept: offerOf(snapshot, cur, stable, count) });
        if (plugin.policy === "closed") return { outcome: "fail", failure, steps: steps! };
        continue;
      }
      if (inst === null) {
        counters.skipped++;
        steps?.push({ plugin: plugin.name, in: count, out: count, outcome: "quarantined", ...(dryRun ? { kept: offerOf(snapshot, cur, stable, count) } : {}) });
        if (plugin.policy === "closed") return { outcome: "fail", failure: new PluginFailure("quarantined", plugin.name, plugin.version, "quarantined after repeated failures, not called"), steps: steps ?? NO_STEPS };
        continue;
      }
      counters.calls++;
      try {
        inst.loadTable(tableId, snapshot, encodedTable);
        inst.routeShared(tableId, this.request, slot, cur, count, hostCount);
        const a = inst.answer;
        if (a.verdict === "reject") {
          const body = a.body();
          // A Reject's metadata names no tags (no host is kept); its grpc-status is the code of a gRPC call's answer.
          const grpcStatus = a.metaCount > 0 ? rejectGrpcStatus(a.metadataPairs()) : null;
          if (!dryRun) plugin.succeeded();
          counters.reject++;
          const ms = timed ? this.sampler.lap(counters) : undefined;
          steps?.push({ plugin: plugin.name, in: count, out: 0, outcome: "reject", ms });
          return { outcome: "reject", status: a.arg, body, grpcStatus, plugin: plugin.name, steps: steps ?? NO_STEPS };
        }
        if (a.verdict === "wait") {
          if (!dryRun) plugin.succeeded();
          counters.wait++;
          const ms = timed ? this.sampler.lap(counters) : undefined;
          steps?.push({ plugin: plugin.name, in: count, out: 0, outcome: "wait", ms });
          return { outcome: "wait", waitMs: a.arg, plugin: plugin.name, steps: steps ?? NO_STEPS };
        }
        // Nothing below changes the offer until every check of the answer has passed, so that a failing
        // plugin leaves the next one the same offer (fail open).
        const inCount = count;
        let next: Uint32Array | null = cur;
        let nextStable: boolean = stable;
        let nextCount = count;
        // A dry run's instance is used once: its groups and metadata are not remembered for the slot.
        const st = a.kept < -1 || a.metaCount > 0 ? (dryRun ? new InstanceState() : this.stateOf(slot, inst)) : null;
        const pairs = a.metaCount > 0 ? a.metadata(st!.meta) : undefined;
        if (a.kept < -1) {
          const group = st!.group(inst, tableId, snapshot, a.kept);
          if (cur === null) next = group;
          else if (stable) next = this.sets.find(cur, group) ?? this.sets.put(cur, group, intersect(cur, group));
          else next = this.offered.subarray(0, intersectInto(this.offered, count, group, this.offered));
          nextCount = next.length;
          nextStable = stable;
        } else if (a.kept >= 0) {
          // Checked against the offer and sorted into the scratch array (cur may be that array: read first).
          a.keptInto(this.kept, hostCount, cur, count, this.offered);
          next = this.offered;
          nextStable = false;
          nextCount = a.kept;
        }
        if (pairs !== undefined) {
          const key = st!.meta.key;
          if (next === null) {
            next = this.sets.find(snapshot.hosts, key) ?? this.sets.put(snapshot.hosts, key, narrowed(snapshot, pairs, null, hostCount));
            nextStable = true;
          } else if (nextStable) {
            next = this.sets.find(next, key) ?? this.sets.put(next, key, narrowed(snapshot, pairs, next, next.length));
          } else {
            nextCount = this.narrowScratch(snapshot, pairs, nextCount);
          }
          if (nextStable) nextCount = next.length;
          // The common case, one plugin with metadata, hands on its cached pairs without a copy.
          metadata = metadata === null ? pairs : [...metadata, ...pairs];
        }
        cur = next;
        stable = nextStable;
        count = nextCount;
        if (!stable) cur = this.offered;
        if (!dryRun) plugin.succeeded();
        counters.accept++;
        counters.kept += count;
        counters.dropped += inCount - count;
        const ms = timed ? this.sampler.lap(counters) : undefined;
        if (dryRun) steps!.push({ plugin: plugin.name, in: inCount, out: count, outcome: "accept", ...(pairs ? { metadata: pairs } : {}), kept: offerOf(snapshot, cur, stable, count) });
        else steps?.push(pairs ? { plugin: plugin.name, in: inCount, out: count, outcome: "accept", metadata: pairs, ms } : { plugin: plugin.name, in: inCount, out: count, outcome: "accept", ms });
      } catch (err) {
        // The chain's own checks of an answer (codec.ts) throw outside the instance: the same classifier.
        const f = failureOf(err);
        // A dry run's failure is its own instance's, which is dropped with the run: not counted, nothing dropped.
        const failure = dryRun ? new PluginFailure(f.kind, plugin.name, plugin.version, f.detail) : plugin.failed(f.kind, f.detail);
        if (!dryRun) {
          // The failed instance is never called again: do not keep it (and its memory) alive in the slot.
          this.slotInstances[slot] = undefined;
          this.slotStates[slot] = undefined;
        }
        const ms = timed ? this.sampler.lap(counters) : undefined;
        steps?.push({ plugin: plugin.name, in: count, out: count, outcome: "failed", failure, ms, ...(dryRun ? { kept: offerOf(snapshot, cur, stable, count) } : {}) });
        // Fail open: skip this plugin; the next one is offered what this one was offered.
        if (plugin.policy === "closed") return { outcome: "fail", failure, steps: steps ?? NO_STEPS };
      }
    }
    // A stable set is handed on as is (it is never written again); the scratch array is copied.
    const indices = cur === null ? null : stable ? cur : cur.slice(0, count);
    const subset: Subset = { snapshot, indices, count };
    return { outcome: "accept", subset, metadata: metadata ?? NO_METADATA, steps: steps ?? NO_STEPS };
  }

  /** Narrows the scratch offer in place to hosts carrying every metadata pair. */
  private narrowScratch(snapshot: ClusterSnapshot, pairs: readonly [string, string][], count: number): number {
    const hosts = snapshot.hosts;
    let out = 0;
    for (let i = 0; i < count; i++) {
      const idx = this.offered[i]!;
      if (hasTags(hosts[idx]!.tags, pairs)) this.offered[out++] = idx;
    }
    return out;
  }
}

/** The offer as a Subset of its own (a dry run's step): a stable set as is, the scratch array copied. */
function offerOf(snapshot: ClusterSnapshot, cur: Uint32Array | null, stable: boolean, count: number): Subset {
  return { snapshot, indices: cur === null ? null : stable ? cur : cur.slice(0, count), count };
}


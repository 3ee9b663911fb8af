// The router chain: plugins in ascending order (ties by name), each offered what the previous one kept. It
// speaks subsets of indices into the snapshot's host table; hosts are encoded into a plugin once per snapshot.
// A chain is immutable: a new bundle, a new config or an order change builds a new chain, swapped in whole.

import type { ClusterSnapshot, Subset } from "../cluster/types.js";
import { AnswerError, HeaderFilter, MetadataCache, type RequestParts, checkKept, encodeHostTable, groupOf, readBody, readGroup, readMetadata, rejectGrpcStatus } from "../abi/codec.js";
import { SharedRequest } from "../abi/shared-request.js";
import { MAX_TABLES, STATUS_NO_GROUP, STATUS_OK, SY_GROUP } from "../abi/limits.js";
import { PluginFailure } from "./errors.js";
import { PluginCounters, TIMING_EVERY } from "./counters.js";
import { InstanceFailure, type PluginInstance, defaultClassifier } from "./instance.js";
import type { RouterPlugin } from "./plugin.js";

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

/**
 * State shared by every chain of one host process: table ids per cluster (stable across chains, so a plugin
 * instance keeps its tables when a chain is rebuilt) and the encoded host table of each snapshot.
 */
export class TableRegistry {
  private readonly ids = new Map<string, number>();
  private readonly encoded = new WeakMap<ClusterSnapshot, Uint8Array>();

  idOf(cluster: string): number {
    let id = this.ids.get(cluster);
    if (id === undefined) {
      id = this.ids.size;
      if (id >= MAX_TABLES) throw new RangeError(`more than MAX_TABLES ${MAX_TABLES} clusters run plugins`);
      this.ids.set(cluster, id);
    }
    return id;
  }

  encode(snapshot: ClusterSnapshot): Uint8Array {
    let bytes = this.encoded.get(snapshot);
    if (bytes === undefined) {
      bytes = encodeHostTable(snapshot.hosts);
      this.encoded.set(snapshot, bytes);
    }
    return bytes;
  }
}

export function sortPlugins(plugins: readonly RouterPlugin[]): RouterPlugin[] {
  return [...plugins].sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Where a dry run counts: nobody reads it, so that explain moves no counter of a live plugin. */
const DRY_RUN_COUNTERS = new PluginCounters();

/** Explicit subsets (and narrowings) kept per stable base set; beyond it the oldest are forgotten. */
const MAX_MEMO_PER_BASE = 64;
/** Derived sets StableSets remembers by identity: more than the plugins of a usual chain. */
const RECENT = 8;

/**
 * What the chain knows of one plugin instance beyond the instance itself: the groups it named per table
 * (§5.3), fetched once per (instance, table snapshot) and then handed on as the same Uint32Array on every
 * request, and its last metadata, decoded again only when the bytes change.
 */
class InstanceState {
  readonly meta = new MetadataCache();
  private readonly groups = new Map<number, { snapshot: ClusterSnapshot; sets: (Uint32Array | undefined)[] }>();

  /** The table of the last call: a chain routes one cluster most of the time. */
  private lastTable = -1;
  private last: { snapshot: ClusterSnapshot; sets: (Uint32Array | undefined)[] } | undefined;

  group(inst: PluginInstance, tableId: number, snapshot: ClusterSnapshot, kept: number): Uint32Array {
    let t = tableId === this.lastTable ? this.last : this.groups.get(tableId);
    if (t === undefined || t.snapshot !== snapshot) this.groups.set(tableId, (t = { snapshot, sets: [] }));
    this.lastTable = tableId;
    this.last = t;
    const g = groupOf(kept);
    return (t.sets[g] ??= fetchGroup(inst, tableId, snapshot.hosts.length, g));
  }
}

/**
 * Calls sy_group for group `g` of table `tableId` (§5.3), armed like any call, and returns its checked
 * indices. The chain calls it once per group and table snapshot; AnswerError for anything malformed.
 */
export function fetchGroup(inst: PluginInstance, tableId: number, hostCount: number, g: number): Uint32Array {
  const guest = inst.guest;
  const status = inst.callGroup(tableId, g);
  if (status === null) throw new AnswerError("kept", `${-2 - g} names group ${g}, but the plugin does not export ${SY_GROUP}`);
  if (status === STATUS_NO_GROUP) throw new AnswerError("kept", `${-2 - g} names group ${g}, which the plugin's ${SY_GROUP} does not know`);
  if (status !== STATUS_OK) throw new AnswerError("kept", `${-2 - g} names group ${g}, and ${SY_GROUP} returned status ${status}`);
  const u8 = guest.view();
  return readGroup(u8, guest.u32, guest.output(), inst.subsetIndex(hostCount), hostCount, g);
}

/**
 * Sets derived from stable sets, memoized by the identity of what they come from: an offer (a group, or
 * the whole table keyed by its hosts array) intersected with a group, or narrowed by metadata pairs. With
 * groups the same request shape gives the same arrays, so the per-request cost does not grow with hosts and
 * the balancers see the same subset again. Entries go with their keys (WeakMap) and are bounded per key.
 */
class StableSets {
  private readonly memo = new WeakMap<object, Map<unknown, Uint32Array>>();
  // The last few answers by identity, before the WeakMap and Map lookups: a run asks one per plugin, and
  // the same request shape asks the same ones again. (They hold at most RECENT old sets past a snapshot change.)
  private readonly recentBase: (object | undefined)[] = new Array<object | undefined>(RECENT).fill(undefined);
  private readonly recentKey: unknown[] = new Array<unknown>(RECENT).fill(undefined);
  private readonly recentSet: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(RECENT).fill(undefined);
  private nextRecent = 0;

  /** The set derived from `base` and `key`, or undefined when not made yet (then `put` it). */
  find(base: object, key: unknown): Uint32Array | undefined {
    for (let i = 0; i < RECENT; i++) if (this.recentBase[i] === base && this.recentKey[i] === key) return this.recentSet[i];
    const set = this.memo.get(base)?.get(key);
    if (set !== undefined) this.remember(base, key, set);
    return set;
  }

  put(base: object, key: unknown, set: Uint32Array): Uint32Array {
    let m = this.memo.get(base);
    if (m === undefined) this.memo.set(base, (m = new Map()));
    if (m.size >= MAX_MEMO_PER_BASE) m.delete(m.keys().next().value);
    m.set(key, set);
    this.remember(base, key, set);
    return set;
  }

  private remember(base: object, key: unknown, set: Uint32Array): void {
    const i = this.nextRecent;
    this.nextRecent = (i + 1) % RECENT;
    this.recentBase[i] = base;
    this.recentKey[i] = key;
    this.recentSet[i] = set;
  }
}

/** Indices in both ascending lists `a` (first `na`) and `b`, written at out[0..]; out may be `a`. */
function intersectInto(a: Uint32Array, na: number, b: Uint32Array, out: Uint32Array): number {
  let i = 0;
  let j = 0;
  let n = 0;
  const nb = b.length;
  while (i < na && j < nb) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return n;
}

export class PluginChain {
  readonly plugins: readonly RouterPlugin[];
  // Scratch reused by every run: run() is synchronous, so one request never sees another's state.
  private offered = new Uint32Array(64);
  private marks = new Uint32Array(64);
  private stamp = 0;
  private readonly states = new WeakMap<PluginInstance, InstanceState>();
  private readonly slotInstances: (PluginInstance | undefined)[] = [];
  private readonly slotStates: (InstanceState | undefined)[] = [];
  private readonly sets = new StableSets();
  /** The request, encoded once per run for every plugin (slot i: this.plugins[i]). */
  private readonly request: SharedRequest;

  /** Runs since the last timed one (see TIMING_EVERY), and the clock at the end of the last timed call. */
  private runs = 0;
  private tick = 0;

  constructor(plugins: readonly RouterPlugin[], private readonly tables: TableRegistry, private readonly timingEvery = TIMING_EVERY) {
    this.plugins = Object.freeze(sortPlugins(plugins));
    this.request = new SharedRequest(this.plugins.map((p) => (p.headers === null ? null : new HeaderFilter(p.headers))));
  }

  /** The time of the call that just ended (since the previous one ended, or the run began), counted. */
  private lap(counters: PluginCounters): number {
    const now = performance.now();
    const ms = now - this.tick;
    this.tick = now;
    counters.observeCall(ms);
    return ms;
  }

  private nextStamp(size: number): number {
    if (this.marks.length < size) this.marks = new Uint32Array(Math.max(size, this.marks.length * 2));
    if (this.stamp >= 0xfffffff0) {
      this.marks.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
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
    // One run in timingEvery is timed, with one clock read per plugin: a call's time runs from the end of
    // the previous one (the chain's own work between two calls is the next plugin's marshaling).
    const timed = !dryRun && ++this.runs >= this.timingEvery;
    if (timed) {
      this.runs = 0;
      this.tick = performance.now();
    }

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
          const body = readBody(inst.guest.view(), inst.guest.output(), a);
          // A Reject's metadata names no tags (no host is kept); its grpc-status is the code of a gRPC call's answer.
          const grpcStatus = a.metaCount > 0 ? rejectGrpcStatus(readMetadata(inst.guest.view(), inst.guest.output(), a)) : null;
          if (!dryRun) plugin.succeeded();
          counters.reject++;
          const ms = timed ? this.lap(counters) : undefined;
          steps?.push({ plugin: plugin.name, in: count, out: 0, outcome: "reject", ms });
          return { outcome: "reject", status: a.arg, body, grpcStatus, plugin: plugin.name, steps: steps ?? NO_STEPS };
        }
        if (a.verdict === "wait") {
          if (!dryRun) plugin.succeeded();
          counters.wait++;
          const ms = timed ? this.lap(counters) : undefined;
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
        const pairs = a.metaCount > 0 ? st!.meta.read(inst.guest.view(), inst.guest.output(), a) : undefined;
        if (a.kept < -1) {
          const group = st!.group(inst, tableId, snapshot, a.kept);
          if (cur === null) next = group;
          else if (stable) next = this.sets.find(cur, group) ?? this.sets.put(cur, group, intersect(cur, group));
          else next = this.offered.subarray(0, intersectInto(this.offered, count, group, this.offered));
          nextCount = next.length;
          nextStable = stable;
        } else if (a.kept >= 0) {
          this.takeKept(inst.guest.u32, inst.subsetIndex(hostCount), a.kept, hostCount, cur, count);
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
        const ms = timed ? this.lap(counters) : undefined;
        if (dryRun) steps!.push({ plugin: plugin.name, in: inCount, out: count, outcome: "accept", ...(pairs ? { metadata: pairs } : {}), kept: offerOf(snapshot, cur, stable, count) });
        else steps?.push(pairs ? { plugin: plugin.name, in: inCount, out: count, outcome: "accept", metadata: pairs, ms } : { plugin: plugin.name, in: inCount, out: count, outcome: "accept", ms });
      } catch (err) {
        // The chain's own checks of an answer (codec.ts) throw outside the instance: the same classifier.
        const f = err instanceof InstanceFailure ? err : new InstanceFailure(defaultClassifier.classify(err, inst.guest).kind, (err as Error).message);
        // A dry run's failure is its own instance's, which is dropped with the run: not counted, nothing dropped.
        const failure = dryRun ? new PluginFailure(f.kind, plugin.name, plugin.version, f.detail) : plugin.failed(f.kind, f.detail);
        if (!dryRun) {
          // The failed instance is never called again: do not keep it (and its memory) alive in the slot.
          this.slotInstances[slot] = undefined;
          this.slotStates[slot] = undefined;
        }
        const ms = timed ? this.lap(counters) : undefined;
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

  /** Checks the plugin's kept indices and makes them the next offer (this.offered), in table order. */
  private takeKept(u32: Uint32Array, start: number, kept: number, hostCount: number, offered: Uint32Array | null, offeredCount: number): void {
    const offeredAll = offered === null;
    const offeredStamp = offeredAll ? 0 : this.nextStamp(hostCount);
    if (!offeredAll) {
      // Mark what was offered, so that a kept index that was not offered is caught in O(kept + offered).
      for (let i = 0; i < offeredCount; i++) this.marks[offered[i]!] = offeredStamp;
    }
    const keptStamp = this.nextStamp(hostCount);
    const sorted = checkKept(u32, start, kept, hostCount, offeredAll, this.marks, offeredStamp, keptStamp);
    this.offered.set(u32.subarray(start, start + kept), 0);
    if (!sorted) this.offered.subarray(0, kept).sort();
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

function hasTags(tags: Readonly<Record<string, string>>, pairs: readonly [string, string][]): boolean {
  for (const [k, v] of pairs) if (tags[k] !== v) return false;
  return true;
}

/** Hosts of `base` (every host when null) carrying every metadata pair (MOSN: all kept hosts carry the same tags). */
function narrowed(snapshot: ClusterSnapshot, pairs: readonly [string, string][], base: Uint32Array | null, count: number): Uint32Array {
  const hosts = snapshot.hosts;
  const out = new Uint32Array(count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    const idx = base === null ? i : base[i]!;
    if (hasTags(hosts[idx]!.tags, pairs)) out[n++] = idx;
  }
  return n === count ? out : out.slice(0, n);
}

function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  const n = intersectInto(a, a.length, b, out);
  return n === out.length ? out : out.slice(0, n);
}

// The router chain: plugins in ascending order (ties by name), each offered what the previous one kept. It
// speaks subsets of indices into the snapshot's host table; hosts are encoded into a plugin once per snapshot.
// A chain is immutable: a new bundle, a new config or an order change builds a new chain, swapped in whole.

import type { ClusterSnapshot, Subset } from "../cluster/types.js";
import { type RequestParts, checkKept, encodeHostTable, readBody, readMetadata } from "../abi/codec.js";
import { MAX_TABLES } from "../abi/limits.js";
import { PluginFailure } from "./errors.js";
import { InstanceFailure } from "./instance.js";
import type { RouterPlugin } from "./plugin.js";

/** What one plugin did to one request, for the access log, metrics and `explain`. */
export interface ChainStep {
  readonly plugin: string;
  readonly in: number;
  readonly out: number;
  readonly outcome: "accept" | "reject" | "wait" | "failed" | "quarantined";
  readonly metadata?: readonly [string, string][];
  readonly failure?: PluginFailure;
}

export type ChainDecision =
  | { readonly outcome: "accept"; readonly subset: Subset; readonly metadata: readonly [string, string][]; readonly steps: readonly ChainStep[] }
  | { readonly outcome: "reject"; readonly status: number; readonly body: string; readonly plugin: string; readonly steps: readonly ChainStep[] }
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

export class PluginChain {
  readonly plugins: readonly RouterPlugin[];
  // Scratch reused by every run: run() is synchronous, so one request never sees another's state.
  private offered = new Uint32Array(64);
  private marks = new Uint32Array(64);
  private stamp = 0;

  constructor(plugins: readonly RouterPlugin[], private readonly tables: TableRegistry) {
    this.plugins = Object.freeze(sortPlugins(plugins));
  }

  private nextStamp(size: number): number {
    if (this.marks.length < size) this.marks = new Uint32Array(Math.max(size, this.marks.length * 2));
    if (this.stamp >= 0xfffffff0) {
      this.marks.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }

  run(req: RequestParts, snapshot: ClusterSnapshot): ChainDecision {
    const hostCount = snapshot.hosts.length;
    const steps: ChainStep[] = [];
    let all = true; // offered = every host of the table
    let count = hostCount;
    let metadata: [string, string][] | null = null;
    if (this.offered.length < hostCount) this.offered = new Uint32Array(Math.max(hostCount, this.offered.length * 2));
    const tableId = this.plugins.length > 0 ? this.tables.idOf(snapshot.cluster) : 0;

    for (const plugin of this.plugins) {
      const inst = plugin.instance();
      if (inst === null) {
        steps.push({ plugin: plugin.name, in: count, out: count, outcome: "quarantined" });
        if (plugin.policy === "closed") return { outcome: "fail", failure: new PluginFailure("trap", plugin.name, plugin.version, "quarantined"), steps };
        continue;
      }
      try {
        inst.loadTable(tableId, snapshot, this.tables.encode(snapshot));
        inst.route(tableId, req, all ? null : this.offered, count, hostCount);
        const a = inst.answer;
        if (a.verdict === "reject") {
          const body = readBody(inst.guest.view(), inst.guest.output(), a);
          plugin.succeeded();
          steps.push({ plugin: plugin.name, in: count, out: 0, outcome: "reject" });
          return { outcome: "reject", status: a.arg, body, plugin: plugin.name, steps };
        }
        if (a.verdict === "wait") {
          plugin.succeeded();
          steps.push({ plugin: plugin.name, in: count, out: 0, outcome: "wait" });
          return { outcome: "wait", waitMs: a.arg, plugin: plugin.name, steps };
        }
        const inCount = count;
        if (a.kept >= 0) {
          this.takeKept(inst.guest.u32, inst.subsetIndex(hostCount), a.kept, hostCount, all, count);
          all = false;
          count = a.kept;
        }
        let pairs: [string, string][] | undefined;
        if (a.metaCount > 0) {
          pairs = readMetadata(inst.guest.view(), inst.guest.output(), a);
          count = this.narrow(snapshot, pairs, all, count);
          all = false;
          (metadata ??= []).push(...pairs);
        }
        plugin.succeeded();
        steps.push(pairs ? { plugin: plugin.name, in: inCount, out: count, outcome: "accept", metadata: pairs } : { plugin: plugin.name, in: inCount, out: count, outcome: "accept" });
      } catch (err) {
        const f = err instanceof InstanceFailure ? err : new InstanceFailure(errKind(err), (err as Error).message);
        const failure = plugin.failed(f.kind, f.detail);
        steps.push({ plugin: plugin.name, in: count, out: count, outcome: "failed", failure });
        // Fail open: skip this plugin; the next one is offered what this one was offered.
        if (plugin.policy === "closed") return { outcome: "fail", failure, steps };
      }
    }
    const subset: Subset = { snapshot, indices: all ? null : this.offered.slice(0, count), count };
    return { outcome: "accept", subset, metadata: metadata ?? [], steps };
  }

  /** Checks the plugin's kept indices and makes them the next offer, in table order. */
  private takeKept(u32: Uint32Array, start: number, kept: number, hostCount: number, offeredAll: boolean, offeredCount: number): void {
    const offeredStamp = offeredAll ? 0 : this.nextStamp(hostCount);
    if (!offeredAll) {
      // Mark what was offered, so that a kept index that was not offered is caught in O(kept + offered).
      const offered = this.offered;
      for (let i = 0; i < offeredCount; i++) this.marks[offered[i]!] = offeredStamp;
    }
    const keptStamp = this.nextStamp(hostCount);
    const sorted = checkKept(u32, start, kept, hostCount, offeredAll, this.marks, offeredStamp, keptStamp);
    this.offered.set(u32.subarray(start, start + kept), 0);
    if (!sorted) this.offered.subarray(0, kept).sort();
  }

  /** Narrows the offer to hosts carrying every metadata pair (MOSN: all kept hosts carry the same tags). */
  private narrow(snapshot: ClusterSnapshot, pairs: readonly [string, string][], all: boolean, count: number): number {
    const hosts = snapshot.hosts;
    let out = 0;
    for (let i = 0; i < count; i++) {
      const idx = all ? i : this.offered[i]!;
      const tags = hosts[idx]!.tags;
      let ok = true;
      for (const [k, v] of pairs) if (tags[k] !== v) { ok = false; break; }
      if (ok) this.offered[out++] = idx;
    }
    return out;
  }
}

function errKind(err: unknown): "area" | "trap" {
  return err instanceof RangeError ? "area" : "trap";
}

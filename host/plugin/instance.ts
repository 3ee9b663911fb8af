// One live instance of a plugin: a Guest plus what has been loaded into it (its config, its host tables).
// It turns ABI statuses and traps into typed outcomes; it never decides policy (that is plugin.ts's).

import type { ClusterSnapshot } from "../cluster/types.js";
import { AnswerError, HeaderFilter, type RequestParts } from "../abi/codec.js";
import { RouteAnswer } from "../abi/answer.js";
import { SharedRequest } from "../abi/shared-request.js";
import { encodeHeaderList } from "../abi/header-list.js";
import { Guest, GuestAbort, GuestAreaError, type GuestLogSink, type GuestSource } from "../abi/guest.js";
import {
  MAX_CONFIG_BYTES,
  MAX_TABLES,
  STATUS_BAD_INPUT,
  STATUS_NOT_CONFIGURED,
  STATUS_NO_GROUP,
  STATUS_NO_TABLE,
  STATUS_OK,
  STATUS_REJECTED,
  SY_GROUP,
  SY_HEADERS,
} from "../abi/limits.js";
import { type FailureKind } from "./errors.js";

const encoder = new TextEncoder();

/** Classifies what a call into the guest threw. The sandbox refines trap into budget / memory. */
export interface FailureClassifier {
  classify(err: unknown, guest: Guest): { kind: FailureKind; detail: string };
}

/** V8 reports wasm stack exhaustion as a RangeError; it is the plugin's own trap, not a memory cap. */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/** The kinds a failure has without the sandbox's budget and memory cap to tell more. */
function classifyDefault(err: unknown): { kind: FailureKind; detail: string } {
  if (err instanceof GuestAbort) return { kind: "abort", detail: err.message };
  if (err instanceof AnswerError) return { kind: "answer", detail: err.message };
  if (err instanceof GuestAreaError) return { kind: "area", detail: err.message };
  if (err instanceof WebAssembly.RuntimeError) return { kind: "trap", detail: err.message };
  if (err instanceof RangeError) return { kind: isStackOverflow(err) ? "trap" : "memory", detail: err.message };
  return { kind: "trap", detail: err instanceof Error ? err.message : String(err) };
}

export const defaultClassifier: FailureClassifier = { classify: classifyDefault };

/** What a failure outside a guest call (the chain's own answer checks, making an instance) is, by the same classifier. */
export function failureOf(err: unknown): InstanceFailure {
  if (err instanceof InstanceFailure) return err;
  const { kind, detail } = classifyDefault(err);
  return new InstanceFailure(kind, detail);
}

/** A failed call: the instance must not be used again (its memory is in an unknown state). */
export class InstanceFailure extends Error {
  constructor(readonly kind: FailureKind, readonly detail: string) {
    super(detail);
  }
}

/** Which export a call is armed for (sy_route also covers the sy_reserve calls before it). */
export type CallKind = "configure" | "headers" | "set_hosts" | "route" | "group";

/**
 * Arms a per-call budget before each call into the guest (the sandbox's fuel); a no-op by default.
 * `inputBytes` is the size of what a sy_configure or sy_set_hosts call decodes: their work grows with it (a
 * 10,000-host table costs ~100x a request), so their budget does too (sdk/ABI.md §7). `kind` names the call,
 * for a meter that reports fuel per call kind (`switchyard conform`, host/conform/fuel.ts).
 */
export interface CallMeter {
  arm(guest: Guest, inputBytes?: number, kind?: CallKind): void;
}

export const noMeter: CallMeter = { arm: () => undefined };

export class PluginInstance {
  readonly guest: Guest;
  /** The answer of the last route call, read out of the guest by the ABI layer. */
  readonly answer: RouteAnswer;
  /** The snapshot loaded under each table id, compared by identity on every request. */
  private readonly tables: (ClusterSnapshot | undefined)[] = [];
  /**
   * Per table id, the encoded size of a table loaded but not yet routed over (else 0). The SDK builds its
   * tag indices lazily, in the first sy_route over a new table: that call is armed like the table load.
   */
  private readonly fresh: number[] = [];
  /** Per table id, the encoded size of the loaded table. */
  private readonly tableBytes: number[] = [];
  /**
   * The headers written into each request (null: every header): the bundle's list until a configure
   * declares its own (§4.4 sy_headers), then that list. A chain reads it after configure, when it is built.
   */
  private declared: readonly string[] | null;
  private filter: HeaderFilter | null;
  /** For route() calls outside a chain (tools, the test harness): this instance alone. */
  private own: SharedRequest | null = null;

  /** `bundleHeaders`: the bundle's declared headers (metadata.json), the default a configure may replace. */
  constructor(
    module: GuestSource,
    private readonly bundleHeaders: readonly string[] | null,
    sink: GuestLogSink,
    private readonly meter: CallMeter = noMeter,
    private readonly classifier: FailureClassifier = defaultClassifier,
  ) {
    this.declared = bundleHeaders;
    this.filter = bundleHeaders === null ? null : new HeaderFilter(bundleHeaders);
    this.guest = Guest.instantiate(module, sink);
    this.answer = new RouteAnswer(this.guest);
  }

  /** The headers this instance is given per request, as its last accepted configure decided (null: all). */
  get headers(): readonly string[] | null {
    return this.declared;
  }

  private fail(err: unknown): never {
    if (err instanceof InstanceFailure) throw err;
    const { kind, detail } = this.classifier.classify(err, this.guest);
    throw new InstanceFailure(kind, this.guest.abortMessage ?? detail);
  }

  /** Runs configure; returns null when accepted, else the plugin's message. Throws InstanceFailure. */
  configure(text: string): string | null {
    const bytes = encoder.encode(text);
    if (bytes.length > MAX_CONFIG_BYTES) return `config is ${bytes.length} bytes, more than MAX_CONFIG_BYTES ${MAX_CONFIG_BYTES}`;
    let status: number;
    try {
      // Armed before writeInput: growing the input area calls the guest's sy_reserve, which is metered too
      // and must not run on whatever fuel the previous call left.
      this.meter.arm(this.guest, bytes.length, "configure");
      const len = this.guest.writeInput(bytes);
      status = this.guest.exports.sy_configure(len);
      if (status === STATUS_OK) return this.askHeaders();
      if (status === STATUS_REJECTED || status === STATUS_BAD_INPUT) return this.guest.message();
    } catch (err) {
      this.fail(err);
    }
    throw new InstanceFailure("status", `sy_configure returned unknown status ${status}`);
  }

  /**
   * After an accepted configure: asks the optional sy_headers (§4.4) which headers the plugin now reads,
   * handing it the bundle's list as the default. Returns null, or a message refusing the config (the
   * plugin's own REJECTED, or a list the host cannot use). Without the export the bundle's list stays.
   */
  private askHeaders(): string | null {
    const fn = (this.guest.exports as unknown as Partial<Record<string, (len: number) => number>>)[SY_HEADERS];
    if (typeof fn !== "function") return null;
    const input = encodeHeaderList(this.bundleHeaders);
    this.meter.arm(this.guest, input.length, "headers");
    const status = fn(this.guest.writeInput(input));
    if (status === STATUS_REJECTED) return this.guest.message();
    if (status !== STATUS_OK) {
      const why = status === STATUS_BAD_INPUT ? `: ${safeMessage(this.guest)}` : "";
      throw new InstanceFailure("status", `${SY_HEADERS} returned status ${status}${why}`);
    }
    let names: string[] | null;
    try {
      names = this.guest.headerList();
    } catch (err) {
      return `the plugin's configure declared headers the host cannot use: ${(err as Error).message}`;
    }
    this.declared = names === null ? null : Object.freeze(names);
    this.filter = names === null ? null : new HeaderFilter(names);
    this.own = null;
    return null;
  }

  /** Makes sure table `id` holds `snapshot`; writes the encoded table only when the snapshot changed. */
  loadTable(id: number, snapshot: ClusterSnapshot, encoded: Uint8Array): void {
    if (this.tables[id] === snapshot) return;
    if (id < 0 || id >= MAX_TABLES) throw new RangeError(`table id ${id} is outside 0..${MAX_TABLES - 1}`);
    let status: number;
    try {
      this.meter.arm(this.guest, encoded.length, "set_hosts");
      const len = this.guest.writeInput(encoded);
      status = this.guest.exports.sy_set_hosts(id, len);
    } catch (err) {
      this.fail(err);
    }
    if (status !== STATUS_OK) {
      const why = status === STATUS_BAD_INPUT ? `: ${safeMessage(this.guest)}` : "";
      throw new InstanceFailure("status", `sy_set_hosts(${id}) returned status ${status}${why}`);
    }
    this.tables[id] = snapshot;
    this.fresh[id] = encoded.length;
    this.tableBytes[id] = encoded.length;
  }

  /**
   * Writes the request and the offered subset and calls sy_route. On return `answer` holds the checked answer
   * header; the rest of the answer is read through it (RouteAnswer).
   */
  route(id: number, req: RequestParts, offered: Uint32Array | null, offeredCount: number, hostCount: number): void {
    const own = (this.own ??= new SharedRequest([this.filter]));
    own.encode(req);
    this.routeShared(id, own, 0, offered, offeredCount, hostCount);
  }

  /**
   * route() for a request a chain encoded once for all its plugins: `slot` is this plugin's place in the
   * SharedRequest, which must have been built with this instance's `filter` there.
   */
  routeShared(id: number, req: SharedRequest, slot: number, offered: Uint32Array | null, offeredCount: number, hostCount: number): void {
    const g = this.guest;
    let status: number;
    try {
      // One budget for the call and the sy_reserve calls before it (see configure).
      const fresh = this.fresh[id] ?? 0;
      this.meter.arm(g, fresh, "route");
      const len = g.writeRequest(req, slot);
      // Reserved even for a whole-table offer: the plugin writes its kept indices there.
      g.offer(hostCount, offered, offeredCount);
      status = g.exports.sy_route(id, len, offered === null ? -1 : offeredCount);
      if (fresh !== 0) this.fresh[id] = 0;
      if (status === STATUS_OK) {
        // The header only: the chain reads metadata before it takes the kept indices, so that a bad block never
        // leaks this plugin's kept set into the next offer (test/fuzz-answers.test.ts).
        this.answer.take(offered === null ? hostCount : offeredCount);
        return;
      }
    } catch (err) {
      this.fail(err);
    }
    const names: Record<number, string> = { [STATUS_NO_TABLE]: "NO_TABLE", [STATUS_NOT_CONFIGURED]: "NOT_CONFIGURED", [STATUS_BAD_INPUT]: "BAD_INPUT" };
    const why = status === STATUS_BAD_INPUT ? `: ${safeMessage(g)}` : "";
    throw new InstanceFailure("status", `sy_route returned status ${status}${names[status] ? ` (${names[status]})` : ""}${why}`);
  }

  /**
   * Calls the optional sy_group export (§5.3), armed like every call; returns its status, or null when the
   * module does not export it. A trap is an InstanceFailure.
   */
  private callGroup(table: number, group: number): number | null {
    const fn = (this.guest.exports as unknown as Partial<Record<string, (t: number, g: number) => number>>).sy_group;
    if (typeof fn !== "function") return null;
    try {
      // Once per group and table snapshot, and O(hosts): armed like a table load (`tableBytes`).
      this.meter.arm(this.guest, this.tableBytes[table] ?? 0, "group");
      return fn(table, group);
    } catch (err) {
      return this.fail(err);
    }
  }

  /**
   * Calls sy_group for group `g` of table `tableId` (§5.3), armed like any call, and returns its checked
   * indices. The chain calls it once per group and table snapshot; AnswerError for anything malformed.
   */
  group(tableId: number, hostCount: number, g: number): Uint32Array {
    const status = this.callGroup(tableId, g);
    if (status === null) throw new AnswerError("kept", `${-2 - g} names group ${g}, but the plugin does not export ${SY_GROUP}`);
    if (status === STATUS_NO_GROUP) throw new AnswerError("kept", `${-2 - g} names group ${g}, which the plugin's ${SY_GROUP} does not know`);
    if (status !== STATUS_OK) throw new AnswerError("kept", `${-2 - g} names group ${g}, and ${SY_GROUP} returned status ${status}`);
    return this.answer.group(hostCount, g);
  }
}

function safeMessage(g: Guest): string {
  try {
    return g.message();
  } catch (err) {
    return `(unreadable message: ${(err as Error).message})`;
  }
}

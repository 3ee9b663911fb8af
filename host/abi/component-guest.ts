// A component plugin (sdk/wit/router.wit) seen through ABI v1: an object with the exports a raw module has
// (sy_reserve, sy_configure, sy_set_hosts, sy_route, sy_group, the sandbox's fuel functions and a memory), so
// that Guest, PluginInstance, the chain, explain and the harness run a component exactly as they run a raw
// bundle. The memory here is the host's own scratch memory, not the component's: the host writes ABI v1
// bytes into it as for any guest, this file decodes them and calls the component's function through jco's
// glue, which lowers them into the component's memory; the answer comes back the other way. Only the lifted
// values cross: a table once per snapshot version (set-hosts), a request's declared headers and the offered
// subset per call, kept indices or a group number back.

import { AnswerError, decodeHostTable, decodeRequest, readStr, writeMessage, writeU32 } from "./codec.js";
import { DirectRoute, type CoreRouteFunctions, type ScratchRoute } from "./component-route.js";
import { encodeHeaderList, readHeaderList } from "./header-list.js";
import { GuestAbort, type GuestExports, type GuestLogSink } from "./guest.js";
import {
  ABI_VERSION,
  ANSWER_HEADER_BYTES,
  AREA_SUBSET,
  LOG_ERROR,
  MAX_BODY_BYTES,
  MAX_LOG_BYTES,
  MAX_META_BYTES,
  MAX_META_PAIRS,
  OUTPUT_BYTES,
  STATUS_BAD_INPUT,
  STATUS_NO_GROUP,
  STATUS_OK,
  STATUS_REJECTED,
  VERDICT_ACCEPT,
  VERDICT_REJECT,
  VERDICT_WAIT,
} from "./limits.js";
import { WORLD_HOST_INTERFACE } from "./world.js";

const encoder = new TextEncoder();
const LEVELS: Readonly<Record<string, number>> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/** The world's exports as jco's glue lifts them (transpiled with noComponentErrorWrapping: err is thrown as is). */
export interface ComponentExports {
  name(): string;
  order(): number;
  configure(config: string): void;
  headers(defaults: string[] | undefined): string[] | undefined;
  setHosts(table: number, hosts: { address: string; weight: number; healthy: boolean; tags: [string, string][] }[]): void;
  dropHosts(table: number): void;
  route(table: number, request: { method: string; path: string; authority: string; headers: [string, string][] }, offered: Uint32Array | undefined): ComponentAnswer;
  group(table: number, group: number): Uint32Array | undefined;
}

export type ComponentKept = { tag: "all" } | { tag: "indices"; val: Uint32Array } | { tag: "group"; val: number };
export type ComponentVerdict = { tag: "accept"; val: ComponentKept } | { tag: "reject"; val: { status: number; body: string } } | { tag: "wait"; val: number };
export interface ComponentAnswer {
  verdict: ComponentVerdict;
  metadata: [string, string][];
}

/** The host's side of the world's imports (interface `host`): log and fail, the raw ABI's sy_log and sy_fail. */
export function worldImports(sink: GuestLogSink): Record<string, Record<string, unknown>> {
  const host = {
    log(level: string, message: string): void {
      const n = LEVELS[level] ?? LOG_ERROR;
      if (!sink.enabled(n)) return;
      sink.log(n, message.length > MAX_LOG_BYTES ? message.slice(0, MAX_LOG_BYTES) : message);
    },
    fail(message: string): never {
      throw new GuestAbort(message.length > MAX_LOG_BYTES ? message.slice(0, MAX_LOG_BYTES) : message);
    },
  };
  // jco's glue looks the interface up without its version.
  return { [WORLD_HOST_INTERFACE.replace(/@.*$/, "")]: host };
}

/** A sandboxed core instance of the component: its fuel counter and denied-growth record (host/sandbox). */
interface Metered {
  sy_fuel_set?(fuel: number): void;
  sy_fuel_left?(): number;
  sy_mem_denied?(): number;
}

/** What a thrown err payload of the component's glue is: the string of `result<_, string>`. */
function errText(err: unknown): string | null {
  return typeof err === "string" ? err : null;
}

/**
 * The ABI v1 exports of one component instance. `core` are its core instances' exports (the sandbox's fuel
 * functions in each); the fuel of a call is armed in all of them (the glue's trampolines are metered too).
 */
export class ComponentGuestExports implements GuestExports {
  readonly memory = new WebAssembly.Memory({ initial: 2 });
  private u8 = new Uint8Array(this.memory.buffer);
  private u32 = new Uint32Array(this.memory.buffer);
  private readonly ptr = [0, 0, 0];
  private readonly cap = [0, 0, 0];
  private top = 8;
  /** The one ScratchRoute of this instance, refilled per call (calls do not nest). */
  private readonly scratch: ScratchRoute = { u8: this.u8, u32: this.u32, at: 0, len: 0, subsetAt: 0, count: -1, cap: 0, out: 0 };
  private readonly metered: Metered[];
  /** The core instances' memories, each once (an instance may export a memory it imported). */
  private readonly memories: readonly WebAssembly.Memory[];
  /** route on the core export itself (host/abi/component-route.ts); null: through jco's glue. */
  private readonly direct: DirectRoute | null;

  /** `route`: the core functions of the world's route when the host found them (host/plugin/component-core.ts). */
  constructor(private readonly c: ComponentExports, core: readonly WebAssembly.Exports[], route: CoreRouteFunctions | null = null) {
    this.direct = route === null ? null : new DirectRoute(route);
    this.metered = core.map((e) => e as unknown as Metered).filter((e) => typeof e.sy_fuel_set === "function");
    this.memories = [...new Set(core.flatMap((e) => Object.values(e).filter((v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory)))];
    // The optional exports are looked up and called as plain functions (host/plugin/instance.ts), as a
    // module's exports are.
    this.sy_headers = this.sy_headers.bind(this);
    this.sy_group = this.sy_group.bind(this);
    // Calls the host makes before it arms a budget (the loader's probe of name and order) run on a bounded
    // fuel, as a raw module's run on what its start function left: a component's guest may be a whole
    // engine (a JavaScript guest) whose name() costs more than a start budget's remainder.
    this.sy_fuel_set(0x7fffffff);
  }

  private view(): Uint8Array {
    if (this.u8.length === 0) {
      this.u8 = new Uint8Array(this.memory.buffer);
      this.u32 = new Uint32Array(this.memory.buffer);
    }
    return this.u8;
  }

  sy_abi_version(): number {
    return ABI_VERSION;
  }

  /** The areas of §2 in the host's scratch memory: each only grows, a new one placed after the last. */
  sy_reserve(area: number, bytes: number): number {
    if (area < 0 || area > 2 || bytes < 0) return 0;
    if (bytes <= this.cap[area]!) return this.ptr[area]!;
    const at = (this.top + 7) & ~7;
    const end = at + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / 65_536));
    this.view();
    this.top = end;
    this.ptr[area] = at;
    this.cap[area] = bytes;
    return at;
  }

  /** The output area, made at its full size on first use (the host may read a message before it reserved it). */
  private out(): number {
    return this.cap[2]! >= OUTPUT_BYTES ? this.ptr[2]! : this.sy_reserve(2, OUTPUT_BYTES);
  }

  private message(status: number, text: string): number {
    const bytes = encoder.encode(text).subarray(0, 4096);
    writeMessage(this.view(), this.out(), new TextDecoder().decode(bytes));
    return status;
  }

  sy_name(): number {
    return this.message(STATUS_OK, this.c.name());
  }

  sy_order(): number {
    return this.c.order();
  }

  sy_configure(len: number): number {
    const text = readStr(this.view(), this.ptr[0]!, len);
    try {
      this.c.configure(text);
      return STATUS_OK;
    } catch (err) {
      const why = errText(err);
      if (why === null) throw err;
      return this.message(STATUS_REJECTED, why);
    }
  }

  sy_headers(len: number): number {
    const u8 = this.view();
    const defaults = readHeaderList(u8.subarray(0, this.ptr[0]! + len), this.ptr[0]!);
    let names: string[] | undefined;
    try {
      names = this.c.headers(defaults ?? undefined);
    } catch (err) {
      const why = errText(err);
      if (why === null) throw err;
      return this.message(STATUS_REJECTED, why);
    }
    const list = encodeHeaderList(names ?? null);
    const out = this.out();
    if (list.length > OUTPUT_BYTES) throw new AnswerError("headers", `the list is ${list.length} bytes, more than the output area`);
    this.view().set(list, out);
    return STATUS_OK;
  }

  sy_set_hosts(table: number, len: number): number {
    const at = this.ptr[0]!;
    const hosts = decodeHostTable(this.view().subarray(at, at + len));
    try {
      this.c.setHosts(table, hosts);
      return STATUS_OK;
    } catch (err) {
      const why = errText(err);
      if (why === null) throw err;
      return this.message(STATUS_BAD_INPUT, why);
    }
  }

  sy_drop_hosts(table: number): number {
    this.c.dropHosts(table);
    return STATUS_OK;
  }

  /** The component's linear memories (not the host's scratch memory above), in the glue's instantiation order. */
  linearMemories(): readonly WebAssembly.Memory[] {
    return this.memories;
  }

  /** True when route skips jco's glue (for the tests and the bench's rows). */
  get routesDirectly(): boolean {
    return this.direct !== null;
  }

  sy_route(table: number, len: number, subset: number): number {
    if (this.direct !== null) {
      const s = this.scratch;
      // The output area first: making it may grow the scratch memory and renew its views.
      s.out = this.out();
      s.u8 = this.view();
      s.u32 = this.u32;
      s.at = this.ptr[0]!;
      s.len = len;
      s.subsetAt = this.ptr[AREA_SUBSET]!;
      s.count = subset;
      s.cap = this.cap[AREA_SUBSET]!;
      this.direct.route(table, s);
      return STATUS_OK;
    }
    const u8 = this.view();
    const request = decodeRequest(u8, this.ptr[0]!, len);
    const offered = subset < 0 ? undefined : this.u32.slice(this.ptr[AREA_SUBSET]! >>> 2, (this.ptr[AREA_SUBSET]! >>> 2) + subset);
    let answer: ComponentAnswer;
    try {
      answer = this.c.route(table, request, offered);
    } catch (err) {
      const why = errText(err);
      // err of route is the plugin failing the call with a message, as sy_fail does (sdk/wit/README.md).
      if (why !== null) throw new GuestAbort(why);
      throw err;
    }
    this.writeAnswer(answer);
    return STATUS_OK;
  }

  /** Writes a lifted answer as §5.2 lays it out; a value the layout cannot hold is the plugin's bad answer. */
  private writeAnswer(a: ComponentAnswer): void {
    const out = this.out();
    const u8 = this.view();
    const v = a.verdict;
    let verdict = VERDICT_ACCEPT;
    let kept = -1;
    let arg = 0;
    let pos = out + ANSWER_HEADER_BYTES;
    if (v.tag === "accept") {
      const k = v.val;
      if (k.tag === "indices") {
        const n = k.val.length;
        if (n * 4 > this.cap[AREA_SUBSET]!) throw new AnswerError("kept", `${n} indices, more than the offered hosts`);
        this.u32.set(k.val, this.ptr[AREA_SUBSET]! >>> 2);
        kept = n;
      } else if (k.tag === "group") {
        kept = -2 - k.val;
        if (!Number.isInteger(k.val) || k.val < 0 || kept < -0x7fffffff) throw new AnswerError("kept", `group ${k.val} is not a group number`);
      }
    } else if (v.tag === "reject") {
      verdict = VERDICT_REJECT;
      arg = v.val.status;
      const body = encoder.encode(v.val.body);
      if (body.length > MAX_BODY_BYTES) throw new AnswerError("body_len", `${body.length} exceeds MAX_BODY_BYTES ${MAX_BODY_BYTES}`);
      u8.set(body, pos);
      pos += body.length;
    } else if (v.tag === "wait") {
      verdict = VERDICT_WAIT;
      arg = v.val;
    } else {
      throw new AnswerError("verdict", "is not accept, reject or wait");
    }
    const bodyLen = pos - out - ANSWER_HEADER_BYTES;
    const meta = a.metadata;
    if (meta.length > MAX_META_PAIRS) throw new AnswerError("meta_count", `${meta.length} exceeds MAX_META_PAIRS ${MAX_META_PAIRS}`);
    const metaStart = pos;
    for (const [key, value] of meta) {
      for (const s of [key, value]) {
        const room = metaStart + MAX_META_BYTES - pos - 4;
        const r = room > 0 ? encoder.encodeInto(s, u8.subarray(pos + 4, pos + 4 + room)) : { read: 0, written: 0 };
        if (r.read !== s.length) throw new AnswerError("meta_len", `the pairs exceed MAX_META_BYTES ${MAX_META_BYTES}`);
        writeU32(u8, pos, r.written);
        pos += 4 + r.written;
      }
    }
    const o = out >>> 2;
    const u32 = this.u32;
    u32[o] = verdict;
    u32[o + 1] = kept;
    u32[o + 2] = arg;
    u32[o + 3] = bodyLen;
    u32[o + 4] = meta.length;
    u32[o + 5] = pos - metaStart;
  }

  sy_group(table: number, group: number): number {
    const indices = this.c.group(table, group);
    if (indices === undefined) return STATUS_NO_GROUP;
    if (indices.length * 4 > this.cap[AREA_SUBSET]!) throw new AnswerError(`group[${group}].count`, `${indices.length} exceeds the table's hosts`);
    this.view();
    this.u32.set(indices, this.ptr[AREA_SUBSET]! >>> 2);
    writeU32(this.u8, this.out(), indices.length);
    return STATUS_OK;
  }

  // The sandbox's functions (host/sandbox/exports.ts) over every metered core instance.
  sy_fuel_set(fuel: number): void {
    for (const m of this.metered) m.sy_fuel_set!(fuel);
  }

  sy_fuel_left(): number {
    let left = 0x7fffffff;
    for (const m of this.metered) left = Math.min(left, m.sy_fuel_left!());
    return left;
  }

  sy_mem_denied(): number {
    let denied = 0;
    for (const m of this.metered) denied = Math.max(denied, m.sy_mem_denied!());
    return denied;
  }
}

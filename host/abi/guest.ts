// One instantiated plugin module seen through ABI v1: the exports typed, the imports provided, the three areas
// of sdk/ABI.md §2 cached, and memory views rebuilt after growth. It only marshals: it checks pointers and
// lengths, moves bytes, and turns statuses into values; what a status means for routing is host/plugin's.

import {
  AREA_INPUT,
  AREA_OUTPUT,
  AREA_SUBSET,
  LOG_ERROR,
  MAX_LOG_BYTES,
  OUTPUT_BYTES,
  REQUIRED_EXPORTS,
} from "./limits.js";
import { readMessage, readStr } from "./codec.js";
import { readHeaderList } from "./header-list.js";
import type { SharedRequest } from "./shared-request.js";

export interface GuestExports {
  memory: WebAssembly.Memory;
  sy_abi_version(): number;
  sy_reserve(area: number, bytes: number): number;
  sy_name(): number;
  sy_order(): number;
  sy_configure(len: number): number;
  sy_set_hosts(table: number, len: number): number;
  sy_drop_hosts(table: number): number;
  sy_route(table: number, len: number, subset: number): number;
  /**
   * The plugin's own linear memories when `memory` is not one (a component: host/abi/component-guest.ts,
   * whose `memory` is the host's scratch area for ABI v1's layouts). Read through linearMemoriesOf.
   */
  linearMemories?(): readonly WebAssembly.Memory[];
}

/**
 * The plugin's own linear memories: a raw module's one memory, a component's core memories. What the memory
 * cap (budget.memoryPages, per memory) bounds, what the metrics and conform report.
 */
export function linearMemoriesOf(exports: GuestExports): readonly WebAssembly.Memory[] {
  return exports.linearMemories?.() ?? [exports.memory];
}

/** Where a plugin's log lines go. The level check happens before any byte is decoded. */
export interface GuestLogSink {
  enabled(level: number): boolean;
  log(level: number, message: string): void;
}

/** A failure raised while calling into the guest: the area could not be had, or memory views went bad. */
export class GuestAreaError extends Error {
  readonly code = "E_PLUGIN_AREA";
}

/** Thrown out of the env.abort import so that the wasm call unwinds; carries the plugin's own message. */
export class GuestAbort extends Error {
  readonly code = "E_PLUGIN_ABORT";
}

/** The names of the imports a module may have (§6); anything else is refused at load. */
export const ALLOWED_IMPORTS: ReadonlySet<string> = new Set(["switchyard.sy_log", "switchyard.sy_fail", "env.abort"]);

/**
 * Reads an AssemblyScript string (UTF-16LE, byte length as u32 at ptr - 4) for env.abort. Bounded: a bad
 * pointer gives a placeholder, never an exception from inside an import.
 */
export function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return "";
  const buf = memory.buffer;
  if (ptr < 4 || ptr > buf.byteLength) return "<bad string pointer>";
  const len = new DataView(buf).getUint32(ptr - 4, true);
  if (len > 2 * 4096 || ptr + len > buf.byteLength) return "<bad string length>";
  return Buffer.from(buf, ptr, len & ~1).toString("utf16le");
}

/**
 * A plugin that is not a core module — a component (host/plugin/component.ts) — makes its own ABI v1 exports
 * (host/abi/component-guest.ts) over its instances; Guest then treats it as any module.
 */
export interface GuestCode {
  instantiate(sink: GuestLogSink): GuestExports;
}

/** What a verified bundle runs: a compiled core module, or a component's code. */
export type GuestSource = WebAssembly.Module | GuestCode;

export class Guest {
  readonly exports: GuestExports;
  /** The last abort message, set by env.abort before it unwinds the call. */
  abortMessage: string | undefined;
  u8: Uint8Array;
  u32: Uint32Array;
  private inputPtr = 0;
  private inputCap = 0;
  private subsetPtr = 0;
  private subsetCap = 0;
  private outputPtr = 0;

  private constructor(exports: GuestExports) {
    this.exports = exports;
    const buf = this.exports.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf, 0, buf.byteLength >>> 2);
  }

  /**
   * Instantiates a compiled module with the ABI's imports. The instance is the only thing that may call
   * back into the host, through sy_log and env.abort.
   */
  static instantiate(source: GuestSource, sink: GuestLogSink): Guest {
    if (!(source instanceof WebAssembly.Module)) return new Guest(source.instantiate(sink));
    const module = source;
    let guest: Guest | undefined;
    let memory: WebAssembly.Memory | undefined;
    let instance: WebAssembly.Instance | undefined;
    const imports = {
      switchyard: {
        sy_log(level: number, ptr: number, len: number): void {
          if (guest === undefined || !sink.enabled(level)) return;
          const u8 = guest.view();
          const n = Math.min(len >>> 0, MAX_LOG_BYTES);
          if (ptr < 0 || ptr + n > u8.length) return;
          sink.log(Math.min(Math.max(level, 0), LOG_ERROR), readStr(u8, ptr, n));
        },
        // The language-neutral abort (§6): a UTF-8 message, so that a C or Rust plugin's failure says why.
        sy_fail(ptr: number, len: number): never {
          const u8 = guest?.view() ?? new Uint8Array((instance?.exports.memory as WebAssembly.Memory | undefined)?.buffer ?? new ArrayBuffer(0));
          const n = Math.min(len >>> 0, MAX_LOG_BYTES);
          const p = ptr >>> 0;
          const message = p + n <= u8.length ? readStr(u8, p, n) : `<sy_fail(${p}, ${len >>> 0}) runs past memory>`;
          if (guest !== undefined) guest.abortMessage = message;
          throw new GuestAbort(message);
        },
      },
      env: {
        abort(msg: number, file: number, line: number, col: number): never {
          const m = memory ?? guest?.exports.memory;
          const text = m ? readAsString(m, msg) : "";
          const where = m && file !== 0 ? ` (${readAsString(m, file)}:${line}:${col})` : "";
          const message = `${text}${where}`;
          if (guest !== undefined) guest.abortMessage = message;
          throw new GuestAbort(message);
        },
      },
    };
    // An instance whose start function aborts throws here; the loader reports it as the bundle's failure.
    instance = new WebAssembly.Instance(module, imports);
    memory = instance.exports.memory as WebAssembly.Memory;
    guest = new Guest(instance.exports as unknown as GuestExports);
    return guest;
  }

  /** The current byte view of memory, rebuilt when growth detached the old buffer. */
  view(): Uint8Array {
    // memory.grow detaches the old buffer, which leaves every view of it empty: a length check (inlined by
    // the JIT) instead of the memory.buffer getter, a native call that cost ~10 ns on every use.
    if (this.u8.length === 0) {
      const buf = this.exports.memory.buffer;
      this.u8 = new Uint8Array(buf);
      this.u32 = new Uint32Array(buf, 0, buf.byteLength >>> 2);
    }
    return this.u8;
  }

  private reserve(area: number, bytes: number, align4: boolean): number {
    const ptr = this.exports.sy_reserve(area, bytes) >>> 0;
    const u8 = this.view();
    if (ptr === 0) throw new GuestAreaError(`sy_reserve(${area}, ${bytes}) returned 0: the plugin could not provide the area`);
    if (ptr + bytes > u8.length) throw new GuestAreaError(`sy_reserve(${area}, ${bytes}) returned ${ptr}, which runs past memory (${u8.length} bytes)`);
    if (align4 && (ptr & 3) !== 0) throw new GuestAreaError(`sy_reserve(${area}, ${bytes}) returned ${ptr}, which is not 4-byte aligned`);
    return ptr;
  }

  /** The input area with room for at least `bytes`; grows it only when needed (§2). */
  input(bytes: number): number {
    if (bytes > this.inputCap) {
      const cap = Math.max(bytes, this.inputCap * 2, 4096);
      this.inputPtr = this.reserve(AREA_INPUT, cap, false);
      this.inputCap = cap;
    }
    return this.inputPtr;
  }

  /** The subset area with room for `count` indices; returns its address (4-byte aligned). */
  subset(count: number): number {
    const bytes = Math.max(count, 1) * 4;
    if (bytes > this.subsetCap) {
      this.subsetPtr = this.reserve(AREA_SUBSET, bytes, true);
      this.subsetCap = bytes;
    }
    return this.subsetPtr;
  }

  /** Reserves the subset area for `hostCount` indices and writes the offer there (§5.2); null: the whole table. */
  offer(hostCount: number, offered: Uint32Array | null, count: number): void {
    const ptr = this.subset(hostCount);
    if (offered !== null) {
      this.view();
      this.u32.set(offered.subarray(0, count), ptr >>> 2);
    }
  }

  output(): number {
    if (this.outputPtr === 0) this.outputPtr = this.reserve(AREA_OUTPUT, OUTPUT_BYTES, true);
    return this.outputPtr;
  }

  /** Reads the message (§5.1) the last call left in the output area. */
  message(): string {
    return readMessage(this.view(), this.output());
  }

  /** Writes slot `slot` of a request a chain encoded once (§4.2) into the input area; returns its length. */
  writeRequest(req: SharedRequest, slot: number): number {
    const ptr = this.input(req.sizeOf(slot));
    return req.writeTo(slot, this.view(), ptr, this.u32) - ptr;
  }

  /** The header list (§4.4) the last sy_headers left in the output area; null: every header. */
  headerList(): string[] | null {
    return readHeaderList(this.view(), this.output());
  }

  /** Writes `bytes` into the input area; returns their length. */
  writeInput(bytes: Uint8Array): number {
    const ptr = this.input(bytes.length);
    this.view().set(bytes, ptr);
    return bytes.length;
  }
}

/** Lists what a compiled module lacks or has too much of, for the bundle loader's coded errors. */
export function inspectModule(module: WebAssembly.Module): { missing: string[]; badImports: string[] } {
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((e) => !exports.has(e));
  const badImports = WebAssembly.Module.imports(module)
    .map((i) => `${i.module}.${i.name}`)
    .filter((n) => !ALLOWED_IMPORTS.has(n));
  return { missing, badImports };
}

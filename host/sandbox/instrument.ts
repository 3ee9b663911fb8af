// Load-time instrumentation of an untrusted plugin module: a CPU budget (fuel) checked inside the module
// itself, and a cap on its memory. Runs once per bundle load, on the main thread, with no worker hop per call:
// an infinite loop traps on its own fuel check and the event loop goes on.
//
// Fuel: a mutable i32 global, charged at every function entry and every loop head by the static count of
// instructions that site pays for (walk.ts), trapping with `unreachable` once it goes below zero. i32, not i64:
// measured the same inside hot loops, and the host arms it without BigInt. The host arms it through exported
// functions (exports.ts), measured 3-5x cheaper than writing an exported WebAssembly.Global's value.
//
// Memory: the module's one memory gets maximum = min(its own maximum, maxMemoryPages), so memory.grow past
// the cap returns -1 inside the plugin (AssemblyScript then traps). Every memory.grow also records a refused
// growth in a global the host reads after a trap, to tell "out of memory" from other traps.

import binaryen from "binaryen";
import { SandboxError } from "./errors.js";
import { MAX_FUEL, SANDBOX_EXPORTS, SY_FUEL_LEFT, SY_FUEL_SET, SY_MEM_DENIED } from "./exports.js";
import { MAX_PAGES_32, type ModuleLayout, readLayout, withMemoryMaximum } from "./sections.js";
import { type FunctionSites, findSites, wrappers } from "./walk.js";

export interface InstrumentOptions {
  /** The memory cap in 64 KiB pages, 1..65536. */
  readonly maxMemoryPages: number;
  /**
   * Fuel the start function may use, the fuel global's initial value: the start function runs inside
   * `new WebAssembly.Instance`, before the host can arm anything. Default DEFAULT_START_FUEL.
   */
  readonly startFuel?: number;
  /** Clock for `info.ms`, in milliseconds. Default performance.now. */
  readonly now?: () => number;
}

export interface InstrumentInfo {
  /** Functions metered (every function the module defines). */
  readonly functions: number;
  /** Loop heads metered. */
  readonly loops: number;
  /** Conditional regions (if arms, code after a named block) charged where they start (host/sandbox/walk.ts). */
  readonly regions: number;
  /** memory.grow sites watched for the cap. */
  readonly growSites: number;
  /** The memory as capped, or null when the module has none. */
  readonly memory: { readonly initial: number; readonly maximum: number; readonly declaredMaximum: number | null } | null;
  readonly hasStart: boolean;
  readonly startFuel: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Wall time of the instrumentation, in milliseconds. */
  readonly ms: number;
}

export interface Instrumented {
  readonly wasm: Uint8Array;
  readonly info: InstrumentInfo;
}

/** Enough for AssemblyScript's start (static data, global initialisers) many times over; ~25 ms of tight loop. */
export const DEFAULT_START_FUEL = 100_000_000;

/**
 * What the engine (Node 20's V8) runs and the walker knows. Exception handling and GC are left out: their
 * instructions are not walked (walk.ts), and the validator refuses a module that uses them.
 */
const FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.Multivalue |
  binaryen.Features.TailCall |
  binaryen.Features.ExtendedConst |
  binaryen.Features.CallIndirectOverlong;

/**
 * Meters and caps a module. Throws SandboxError (E_SANDBOX_*) for input it refuses.
 *
 * @example
 * const { wasm, info } = instrument(bytes, { maxMemoryPages: 256 });
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm), imports);
 * (instance.exports.sy_fuel_set as (n: number) => void)(fuelFor(5));
 */
export function instrument(wasm: Uint8Array, opts: InstrumentOptions): Instrumented {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const cap = checkOptions(opts);
  const startFuel = opts.startFuel ?? DEFAULT_START_FUEL;
  const layout = readLayout(wasm);
  const memory = capMemory(layout, cap);
  validateWithEngine(wasm);
  const capped = memory === null ? wasm : withMemoryMaximum(wasm, layout, memory.maximum);

  const mod = readWithBinaryen(capped);
  const debugInfo = binaryen.getDebugInfo();
  try {
    mod.setFeatures(FEATURES);
    for (const name of SANDBOX_EXPORTS) {
      if (mod.getExport(name) !== 0) throw new SandboxError("E_SANDBOX_EXPORT_CLASH", `export ${name}`, "the module already exports a name the sandbox adds");
    }
    const fuel = freshName(mod, "sy_fuel", "global");
    const denied = freshName(mod, "sy_mem_denied", "global");
    mod.addGlobal(fuel, binaryen.i32, true, mod.i32.const(startFuel));
    mod.addGlobal(denied, binaryen.i32, true, mod.i32.const(0));

    const sites: { fn: number; sites: FunctionSites }[] = [];
    let loops = 0;
    let regions = 0;
    let grows = 0;
    const count = mod.getNumFunctions();
    for (let i = 0; i < count; i++) {
      const fn = mod.getFunctionByIndex(i);
      const info = binaryen.getFunctionInfo(fn);
      if (info.module) continue; // imported: host code, not metered
      const s = findSites(info.body, `$${info.name}`);
      sites.push({ fn, sites: s });
      loops += s.loops.length;
      regions += s.regions.length;
      grows += s.grows.length;
    }
    const note = memory !== null && grows > 0 ? addGrowNote(mod, denied, memory.maximum) : null;
    for (const { fn, sites: s } of sites) {
      for (const loop of s.loops) wrappers.Loop!.setBody!(loop.ref, charged(mod, fuel, loop.cost, wrappers.Loop!.getBody!(loop.ref)));
      for (const r of s.regions) {
        if (r.kind === "segment") wrappers.Block!.setChildAt!(r.ref, r.index, charged(mod, fuel, r.cost, wrappers.Block!.getChildAt!(r.ref, r.index)));
        else if (r.arm === 0) wrappers.If!.setIfTrue!(r.ref, charged(mod, fuel, r.cost, wrappers.If!.getIfTrue!(r.ref)));
        else wrappers.If!.setIfFalse!(r.ref, charged(mod, fuel, r.cost, wrappers.If!.getIfFalse!(r.ref)));
      }
      if (note !== null) for (const g of s.grows) wrappers.MemoryGrow!.setDelta!(g, mod.call(note, [wrappers.MemoryGrow!.getDelta!(g)], binaryen.i32));
      wrappers.Function!.setBody!(fn, charged(mod, fuel, s.entryCost, wrappers.Function!.getBody!(fn)));
    }
    addHostExports(mod, fuel, denied);

    if (!mod.validate()) throw new SandboxError("E_SANDBOX_INTERNAL", "instrumented module", "binaryen's validator refused the instrumented module");
    binaryen.setDebugInfo(true); // keep the name section, so that a plugin's trap names its functions
    const out = mod.emitBinary();
    if (!WebAssembly.validate(out)) throw new SandboxError("E_SANDBOX_INTERNAL", "instrumented module", "the engine refused the instrumented module");
    return {
      wasm: out,
      info: {
        functions: sites.length,
        loops,
        regions,
        growSites: grows,
        memory,
        hasStart: mod.getStart() !== 0,
        startFuel,
        bytesIn: wasm.length,
        bytesOut: out.length,
        ms: now() - t0,
      },
    };
  } finally {
    binaryen.setDebugInfo(debugInfo);
    mod.dispose();
  }
}

function checkOptions(opts: InstrumentOptions): number {
  const cap = opts.maxMemoryPages;
  if (!Number.isInteger(cap) || cap < 1 || cap > MAX_PAGES_32) {
    throw new SandboxError("E_SANDBOX_OPTIONS", "maxMemoryPages", `expected an integer in 1..${MAX_PAGES_32}, got ${String(cap)}`);
  }
  const start = opts.startFuel;
  if (start !== undefined && (!Number.isInteger(start) || start < 0 || start > MAX_FUEL)) {
    throw new SandboxError("E_SANDBOX_OPTIONS", "startFuel", `expected an integer in 0..${MAX_FUEL}, got ${String(start)}`);
  }
  return cap;
}

function capMemory(layout: ModuleLayout, cap: number): InstrumentInfo["memory"] {
  const total = layout.importedMemories.length + layout.memories.length;
  if (total > 1) throw new SandboxError("E_SANDBOX_MULTI_MEMORY", "memories", `the module has ${total} memories; a plugin may have one`);
  const imported = layout.importedMemories[0];
  if (imported !== undefined) {
    throw new SandboxError("E_SANDBOX_IMPORTED_MEMORY", `import ${imported}`, "the memory is imported; a plugin must define and export its own memory");
  }
  const mem = layout.memories[0];
  if (mem === undefined) return null;
  if (mem.flags > 1) {
    const kind = mem.flags & 0x02 ? "shared" : mem.flags & 0x04 ? "64-bit" : "custom-page-size";
    throw new SandboxError("E_SANDBOX_MEMORY_KIND", "memory 0", `a ${kind} memory cannot be capped by the sandbox`);
  }
  if (mem.initial > cap) {
    throw new SandboxError("E_SANDBOX_MEMORY_INITIAL", "memory 0", `initial size ${mem.initial} pages is above the cap of ${cap} pages`);
  }
  return { initial: mem.initial, maximum: Math.min(mem.maximum ?? MAX_PAGES_32, cap), declaredMaximum: mem.maximum };
}

function validateWithEngine(wasm: Uint8Array): void {
  if (WebAssembly.validate(wasm)) return;
  let why = "invalid module";
  try {
    new WebAssembly.Module(wasm);
  } catch (err) {
    why = (err as Error).message;
  }
  throw new SandboxError("E_SANDBOX_NOT_WASM", "module", `the engine refuses it: ${why}`);
}

function readWithBinaryen(wasm: Uint8Array): binaryen.Module {
  try {
    return binaryen.readBinary(wasm);
  } catch (err) {
    throw new SandboxError("E_SANDBOX_UNSUPPORTED", "module", `binaryen cannot read it: ${(err as Error).message}`, { cause: err });
  }
}

function freshName(mod: binaryen.Module, base: string, kind: "global" | "function"): string {
  for (let i = 0; i < 1000; i++) {
    const name = i === 0 ? base : `${base}_${i}`;
    const taken = kind === "global" ? mod.getGlobal(name) !== 0 : mod.getFunction(name) !== 0;
    if (!taken) return name;
  }
  throw new SandboxError("E_SANDBOX_INTERNAL", base, "no free internal name");
}

/** `fuel -= cost; if (fuel < 0) unreachable;` then the original code. */
function charged(mod: binaryen.Module, fuel: string, cost: number, body: number): number {
  const i32 = binaryen.i32;
  return mod.block(
    null,
    [
      mod.global.set(fuel, mod.i32.sub(mod.global.get(fuel, i32), mod.i32.const(cost))),
      mod.if(mod.i32.lt_s(mod.global.get(fuel, i32), mod.i32.const(0)), mod.unreachable()),
      body,
    ],
    binaryen.getExpressionType(body),
  );
}

/**
 * `(delta) -> delta`, recording `delta` when it would take memory past `maximum`. It does not refuse anything
 * itself: the engine refuses the grow because of the memory's maximum.
 */
function addGrowNote(mod: binaryen.Module, denied: string, maximum: number): string {
  const name = freshName(mod, "sy_grow_note", "function");
  const i32 = binaryen.i32;
  const delta = () => mod.local.get(0, i32);
  // Compared as unsigned against the room left, so that a huge delta cannot wrap around.
  const over = mod.i32.gt_u(delta(), mod.i32.sub(mod.i32.const(maximum), mod.memory.size()));
  mod.addFunction(name, i32, i32, [], mod.block(null, [mod.if(over, mod.global.set(denied, delta())), delta()], i32));
  return name;
}

function addHostExports(mod: binaryen.Module, fuel: string, denied: string): void {
  const i32 = binaryen.i32;
  const set = freshName(mod, SY_FUEL_SET, "function");
  mod.addFunction(set, i32, binaryen.none, [], mod.block(null, [mod.global.set(fuel, mod.local.get(0, i32)), mod.global.set(denied, mod.i32.const(0))]));
  mod.addFunctionExport(set, SY_FUEL_SET);
  const left = freshName(mod, SY_FUEL_LEFT, "function");
  mod.addFunction(left, binaryen.none, i32, [], mod.global.get(fuel, i32));
  mod.addFunctionExport(left, SY_FUEL_LEFT);
  const mem = freshName(mod, SY_MEM_DENIED, "function");
  mod.addFunction(mem, binaryen.none, i32, [], mod.global.get(denied, i32));
  mod.addFunctionExport(mem, SY_MEM_DENIED);
}

// The host side of a plugin's CPU budget: milliseconds to fuel, arming before a call, and telling after a
// failed call whether it ran out of fuel, was refused memory, or trapped for its own reasons. No binaryen here:
// this is on the per-call path.

import { isStackOverflow } from "../plugin/instance.js";
import { SandboxError } from "./errors.js";
import { MAX_FUEL, type SandboxExports } from "./exports.js";

/**
 * Fuel one millisecond buys, a constant rather than a measurement at start-up: a budget in fuel is
 * deterministic, so a plugin that passes on one host passes on every host and after every restart
 * (sdk/ABI.md §7 asks the same answer for the same input); a start-up measurement on a busy 2-core machine
 * varies by 2x or more between runs.
 * The host compiles wasm with the optimizing tier (host/server/engine.ts), so the figure is that tier's rate on
 * the tightest metered loop (`count` in bench/wat.ts), where fuel burns fastest: 5-9e6 fuel/ms
 * measured on this project's 2-vCPU machine, loaded to idle, rounded down to 3e6 so that the figure still
 * holds on a machine twice as slow. So a runaway tight loop on warm code ends after 35-60% of `cpuMs`. Code
 * whose metered instructions do more (memory, calls) burns fuel more slowly and runs longer on the same
 * fuel: `cpuMs` is the budget of the fastest burner, not a wall-clock deadline. A module's first calls,
 * before the optimized code lands, run in the baseline tier, about 6x slower per fuel. `make bench` (section sandbox) prints the measured rates next to
 * this constant and the time an infinite loop takes to trap under a 5 ms budget.
 */
export const FUEL_PER_MS = 3_000_000;

/**
 * Fuel added per byte of input that sy_configure and sy_set_hosts decode, on top of the call budget. The SDK
 * spends 250-280 fuel per byte of host table (sy_set_hosts of the example plugins, 100 to 65,536 hosts,
 * measured with the bundles sandboxed: ~20,000 fuel per host), so a fixed budget fails every plugin past a
 * couple of hundred hosts; twice that measured rate leaves room for a plugin's own per-host indexing. Capped
 * at MAX_FUEL, which still holds a MAX_HOSTS table at the measured rate.
 */
export const INPUT_FUEL_PER_BYTE = 512;

/** The per-call budget when a bundle names none. */
export const DEFAULT_CPU_MS = 5;

/** The largest budget the i32 counter holds, in milliseconds (715). */
export const MAX_CPU_MS = Math.floor(MAX_FUEL / FUEL_PER_MS);

/** Converts a budget in milliseconds to fuel. Throws E_SANDBOX_OPTIONS naming `where` for a bad value. */
export function fuelForMs(ms: number, where = "budget.cpuMs", fuelPerMs = FUEL_PER_MS): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new SandboxError("E_SANDBOX_OPTIONS", where, `expected a positive number of milliseconds, got ${String(ms)}`);
  }
  if (ms > MAX_FUEL / fuelPerMs) {
    throw new SandboxError("E_SANDBOX_OPTIONS", where, `${ms} ms is more than the ${Math.floor(MAX_FUEL / fuelPerMs)} ms an i32 fuel counter holds`);
  }
  return Math.max(1, Math.round(ms * fuelPerMs));
}

/**
 * The fuel of one call from a bundle's budget: `fuel` as given, `cpuMs` converted; the smaller when both are
 * set (each is a limit the author asked for); DEFAULT_CPU_MS when neither.
 */
export function callFuel(budget: { readonly cpuMs?: number; readonly fuel?: number }): number {
  const limits: number[] = [];
  if (budget.cpuMs !== undefined) limits.push(fuelForMs(budget.cpuMs));
  if (budget.fuel !== undefined) {
    const f = budget.fuel;
    if (!Number.isInteger(f) || f < 1 || f > MAX_FUEL) throw new SandboxError("E_SANDBOX_OPTIONS", "budget.fuel", `expected an integer in 1..${MAX_FUEL}, got ${String(f)}`);
    limits.push(f);
  }
  return limits.length === 0 ? fuelForMs(DEFAULT_CPU_MS) : Math.min(...limits);
}

export type SandboxFailureKind = "budget" | "memory" | "trap";

export interface SandboxFailure {
  readonly kind: SandboxFailureKind;
  readonly message: string;
  /** The counter after the failure (negative: out of fuel), or null when it could not be read. */
  readonly fuelLeft: number | null;
  /** Pages of the memory.grow the cap refused during the call, or 0. */
  readonly deniedPages: number;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}


/** The budget of one plugin's calls: arm it before each call, classify a failure after it. */
export class FuelBudget {
  readonly fuel: number;
  /** What the last arm gave (the call budget, or more for a call that decodes input): failures quote it. */
  private armed: number;

  constructor(fuel: number, readonly memoryPages: number | null = null) {
    if (!Number.isInteger(fuel) || fuel < 1 || fuel > MAX_FUEL) throw new SandboxError("E_SANDBOX_OPTIONS", "fuel", `expected an integer in 1..${MAX_FUEL}, got ${String(fuel)}`);
    this.fuel = fuel;
    this.armed = fuel;
  }

  /** The fuel the last arm gave. */
  get lastArmed(): number {
    return this.armed;
  }

  /** The fuel of a call that decodes `inputBytes` (0 for a request), remembered for classify(). */
  armFor(inputBytes: number): number {
    this.armed = inputBytes === 0 ? this.fuel : Math.min(MAX_FUEL, this.fuel + inputBytes * INPUT_FUEL_PER_BYTE);
    return this.armed;
  }

  static fromMs(ms: number, memoryPages: number | null = null): FuelBudget {
    return new FuelBudget(fuelForMs(ms), memoryPages);
  }

  /** Arms the next call with the whole budget; also clears the record of refused growth. */
  arm(exports: SandboxExports): void {
    exports.sy_fuel_set(this.armFor(0));
  }

  /** Fuel the last call used, when it returned normally (the counter is read, not reset). */
  used(exports: SandboxExports): number {
    return this.armed - exports.sy_fuel_left();
  }

  /**
   * Tells what a call that threw `err` ran into, by reading the instance's counters: the fuel check leaves the
   * counter below zero, and only it does; a grow refused by the cap is recorded before the plugin traps on it.
   * `exports` null (e.g. the start function failed, so there is no instance) gives "trap". `memories`: the
   * plugin's own linear memories (host/abi/guest.ts linearMemoriesOf), for the size the message names.
   */
  classify(err: unknown, exports: SandboxExports | null, memories: readonly WebAssembly.Memory[] = []): SandboxFailure {
    let fuelLeft: number | null = null;
    let denied = 0;
    if (exports !== null) {
      try {
        fuelLeft = exports.sy_fuel_left();
        denied = exports.sy_mem_denied();
      } catch {
        fuelLeft = null; // an instance whose helpers cannot run: classify by the error alone
      }
    }
    const why = messageOf(err);
    if (fuelLeft !== null && fuelLeft < 0) {
      return { kind: "budget", message: `out of fuel: the call used its whole budget of ${this.armed} fuel (~${formatMs(this.armed / FUEL_PER_MS)} ms) (${why})`, fuelLeft, deniedPages: denied };
    }
    if (denied > 0) {
      // The cap is per memory (each core module of a component has its own): the largest one met it.
      const pages = memories.length === 0 ? null : Math.max(...memories.map((m) => Math.floor(m.buffer.byteLength / 65_536)));
      const cap = this.memoryPages === null ? "its cap" : `its cap of ${this.memoryPages} pages`;
      const at = pages === null ? "" : ` at ${pages} pages`;
      return { kind: "memory", message: `memory.grow by ${denied} pages refused${at}: past ${cap} (${why})`, fuelLeft, deniedPages: denied };
    }
    if (isStackOverflow(err)) return { kind: "trap", message: `stack overflow (${why})`, fuelLeft, deniedPages: 0 };
    return { kind: "trap", message: why, fuelLeft, deniedPages: 0 };
  }
}

function formatMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(0) : ms.toFixed(2);
}

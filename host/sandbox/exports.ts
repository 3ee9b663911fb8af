// The names the sandbox adds to an instrumented module, and how the host sees them. Kept apart from
// instrument.ts so that the per-call side (budget.ts) never loads binaryen.

/** `sy_fuel_set(fuel: i32)`: arms the budget of the next call and clears the denied-growth record. */
export const SY_FUEL_SET = "sy_fuel_set";
/** `sy_fuel_left() -> i32`: fuel left; negative after a trap for running out of fuel. */
export const SY_FUEL_LEFT = "sy_fuel_left";
/** `sy_mem_denied() -> i32`: pages of the last memory.grow refused by the cap since the last arm, else 0. */
export const SY_MEM_DENIED = "sy_mem_denied";

export const SANDBOX_EXPORTS: readonly string[] = Object.freeze([SY_FUEL_SET, SY_FUEL_LEFT, SY_MEM_DENIED]);

/** The exports an instrumented instance has on top of its own. */
export interface SandboxExports {
  sy_fuel_set(fuel: number): void;
  sy_fuel_left(): number;
  sy_mem_denied(): number;
}

/** The largest fuel one call can be armed with: the counter is an i32 (no BigInt on the per-call path). */
export const MAX_FUEL = 0x7fff_ffff;

/** Exported functions, not an exported global: measured 15-22 ns per set+get against 56-104 ns for Global.value. */
export function sandboxExportsOf(exports: WebAssembly.Exports): SandboxExports | null {
  const e = exports as Partial<Record<string, unknown>>;
  if (typeof e[SY_FUEL_SET] !== "function" || typeof e[SY_FUEL_LEFT] !== "function" || typeof e[SY_MEM_DENIED] !== "function") return null;
  return exports as unknown as SandboxExports;
}

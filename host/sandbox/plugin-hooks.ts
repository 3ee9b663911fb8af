// The sandbox plugged into host/plugin's hooks: a CallMeter that arms the fuel before every call into a guest,
// and a FailureClassifier that refines a trap into "budget" or "memory" by reading the guest's counters. Kept
// apart from budget.ts so that the budget has no dependency on the plugin layer.

import { type Guest, linearMemoriesOf } from "../abi/guest.js";
import { type FailureKind } from "../plugin/errors.js";
import { type CallMeter, type FailureClassifier, defaultClassifier, isStackOverflow } from "../plugin/instance.js";
import { FuelBudget } from "./budget.js";
import { SandboxError } from "./errors.js";
import { type SandboxExports, sandboxExportsOf } from "./exports.js";

/** The sandbox exports of `guest`, or a coded error when its module was not instrumented. */
function exportsOf(guest: Guest): SandboxExports {
  const ex = sandboxExportsOf(guest.exports as unknown as WebAssembly.Exports);
  if (ex === null) throw new SandboxError("E_SANDBOX_OPTIONS", "guest", "the module was not instrumented by the sandbox (no sy_fuel_set export)");
  return ex;
}

/** Arms `budget` before each call; one meter per plugin, since each bundle has its own budget. */
export class SandboxMeter implements CallMeter {
  private last: Guest | null = null;
  private exports: SandboxExports | null = null;

  constructor(readonly budget: FuelBudget) {}

  arm(guest: Guest, inputBytes = 0): void {
    // The exports are looked up once per instance, not once per call.
    if (guest !== this.last) {
      this.exports = exportsOf(guest);
      this.last = guest;
    }
    this.exports!.sy_fuel_set(this.budget.armFor(inputBytes));
  }
}

/** Budget and memory first (they explain an abort or a trap that follows them), then the default kinds. */
export class SandboxClassifier implements FailureClassifier {
  constructor(readonly budget: FuelBudget) {}

  classify(err: unknown, guest: Guest): { kind: FailureKind; detail: string } {
    const ex = sandboxExportsOf(guest.exports as unknown as WebAssembly.Exports);
    const f = this.budget.classify(err, ex, linearMemoriesOf(guest.exports));
    if (f.kind !== "trap") return { kind: f.kind, detail: f.message };
    // The budget's own wording of a stack overflow ("stack overflow (…)") over V8's RangeError text.
    if (isStackOverflow(err)) return { kind: "trap", detail: f.message };
    return defaultClassifier.classify(err, guest);
  }
}

/** The memory cap when a bundle names none: 256 pages, 16 MiB. */
export const DEFAULT_MEMORY_PAGES = 256;

/**
 * The bundle loader's transform (host/plugin/bundle.ts LoadOptions.transform): meters and caps the verified
 * wasm with the bundle's own memory cap. A refusal is a SandboxError whose message names the bundle.
 */
export function sandboxTransform(instrumentFn: (wasm: Uint8Array, opts: { maxMemoryPages: number }) => { wasm: Uint8Array } | Promise<{ wasm: Uint8Array }>, defaultPages = DEFAULT_MEMORY_PAGES) {
  return async (wasm: Uint8Array, metadata: { readonly name: string; readonly budget: { readonly memoryPages?: number } }): Promise<Uint8Array> => {
    try {
      return (await instrumentFn(wasm, { maxMemoryPages: metadata.budget.memoryPages ?? defaultPages })).wasm;
    } catch (err) {
      if (err instanceof SandboxError) throw new SandboxError(err.code, `bundle ${metadata.name}: ${err.where}`, err.detail, { cause: err });
      throw err;
    }
  };
}

// The sandbox as plugin options: every bundle's wasm is metered and capped at load, and every call into it is
// armed with the bundle's own CPU budget (metadata.json budget.cpuMs / budget.fuel, else the default).

import type { LoadOptions } from "../plugin/bundle.js";
import type { PluginOptions } from "../plugin/plugin.js";
import { callFuel, FuelBudget } from "./budget.js";
import type { InstrumentOptions, Instrumented } from "./instrument.js";
import { sharedInstrumenter } from "./instrumenter.js";
import { DEFAULT_MEMORY_PAGES, SandboxClassifier, SandboxMeter, sandboxTransform } from "./plugin-hooks.js";

export interface SandboxSettings {
  /** Default CPU budget of one call when a bundle names none. */
  readonly cpuMs?: number;
  /** Default memory cap in 64 KiB pages when a bundle names none. */
  readonly memoryPages?: number;
  /** What meters and caps a module: by default a child process (instrumenter.ts), so binaryen never loads here. */
  readonly instrument?: (wasm: Uint8Array, opts: InstrumentOptions) => Instrumented | Promise<Instrumented>;
}

export function sandboxOptions(settings: SandboxSettings = {}): Pick<PluginOptions, "guard"> & Pick<LoadOptions, "transform"> {
  return {
    transform: sandboxTransform(settings.instrument ?? ((wasm, opts) => sharedInstrumenter.instrument(wasm, opts)), settings.memoryPages ?? DEFAULT_MEMORY_PAGES),
    guard: (metadata) => {
      const b = metadata.budget;
      const budget = new FuelBudget(callFuel(b.cpuMs !== undefined || b.fuel !== undefined ? b : { cpuMs: settings.cpuMs ?? 5 }), b.memoryPages ?? settings.memoryPages ?? DEFAULT_MEMORY_PAGES);
      return { meter: new SandboxMeter(budget), classifier: new SandboxClassifier(budget) };
    },
  };
}

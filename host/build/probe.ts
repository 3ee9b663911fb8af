// What a freshly compiled module says of itself, asked the way the host will ask it: instantiate once with
// the ABI's imports, read sy_abi_version / sy_name / sy_order, and try the default config. The module is
// metered by the host's own sandbox (host/sandbox/instrument.ts) and every call armed with the bundle's budget,
// so that a plugin whose top-level code or configure loops fails the build with E_BUILD_BUDGET, as it would
// fail to load in the host, instead of hanging it.

import { ABI_VERSION, REQUIRED_EXPORTS, STATUS_OK, STATUS_REJECTED } from "../abi/limits.js";
import { Guest, type GuestSource, inspectModule, linearMemoriesOf } from "../abi/guest.js";
import { FUEL_PER_MS, type FuelBudget } from "../sandbox/budget.js";
import { sandboxExportsOf } from "../sandbox/exports.js";
import { BuildError } from "./errors.js";

export interface ProbeResult {
  readonly abi: number;
  readonly name: string | null;
  readonly order: number | null;
  /** Lines the plugin logged while probed, as "level: message". */
  readonly logs: readonly string[];
}

export interface ProbeSandbox {
  readonly budget: FuelBudget;
  /** The fuel the module's start function was instrumented with. */
  readonly startFuel: number;
}

export interface ProbeOptions {
  /** Refuse modules the host would refuse, and run configure(defaultConfig). */
  readonly check: boolean;
  readonly defaultConfig: string;
  /**
   * The budget of each call when `module` was instrumented by the sandbox, with the start fuel it was
   * instrumented with; null probes an uninstrumented module unmetered (a fixture the sandbox refuses).
   */
  readonly sandbox: ProbeSandbox | null;
}

/**
 * Probes `module`; `label` names the plugin folder in errors. A component's code (host/plugin/component.ts)
 * was checked against the world when it was loaded and has every ABI v1 export.
 */
export function probeModule(module: GuestSource, label: string, opts: ProbeOptions): ProbeResult {
  const logs: string[] = [];
  if (opts.check && module instanceof WebAssembly.Module) {
    const { missing, badImports } = inspectModule(module);
    if (missing.length > 0) {
      throw new BuildError("E_BUILD_MODULE", `${label}: the module lacks required export(s) ${missing.join(", ")}; does the entry file have \`export * from ".../sdk/assembly/abi/exports"\`?`);
    }
    if (badImports.length > 0) {
      throw new BuildError("E_BUILD_MODULE", `${label}: the module imports ${badImports.join(", ")}; the host provides only switchyard.sy_log, switchyard.sy_fail and env.abort (Math.random, Date and console are not available to plugins)`);
    }
  }
  const exported = new Set(module instanceof WebAssembly.Module ? WebAssembly.Module.exports(module).map((e) => e.name) : REQUIRED_EXPORTS);
  const sandbox = opts.sandbox;
  let guest: Guest;
  try {
    guest = Guest.instantiate(module, { enabled: () => true, log: (level, message) => logs.push(`${level}: ${message}`) });
  } catch (err) {
    // No instance is left to read the fuel counter from; under the sandbox a bare `unreachable` trap of the
    // start function is its fuel check (AssemblyScript's own failures go through env.abort, with a message).
    if (sandbox !== null && err instanceof WebAssembly.RuntimeError && /^unreachable/.test(err.message)) {
      const ms = (sandbox.startFuel / FUEL_PER_MS).toFixed(0);
      throw new BuildError("E_BUILD_BUDGET", `${label}: its top-level code did not finish within the sandbox's start budget of ${sandbox.startFuel} fuel (~${ms} ms), as the host would refuse it: a loop at top level? (${err.message})`, { cause: err });
    }
    throw new BuildError("E_BUILD_MODULE", `${label}: instantiating the module (its top-level code) failed: ${(err as Error).message}`, { cause: err });
  }
  const meter = sandbox === null ? null : sandboxExportsOf(guest.exports as unknown as WebAssembly.Exports);
  const call = <T>(what: string, f: () => T, inputBytes = 0): T => {
    if (meter !== null) meter.sy_fuel_set(sandbox!.budget.armFor(inputBytes));
    try {
      return f();
    } catch (err) {
      if (meter !== null) {
        const failure = sandbox!.budget.classify(err, meter, linearMemoriesOf(guest.exports));
        if (failure.kind === "budget") throw new BuildError("E_BUILD_BUDGET", `${label}: ${what} ${failure.message}`, { cause: err });
      }
      throw new BuildError("E_BUILD_MODULE", `${label}: ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  };
  const abi = exported.has("sy_abi_version") ? call("sy_abi_version()", () => guest.exports.sy_abi_version()) : -1;
  if (opts.check && abi !== ABI_VERSION) {
    throw new BuildError("E_BUILD_MODULE", `${label}: sy_abi_version() returned ${abi}, the SDK and host speak ABI ${ABI_VERSION}`);
  }
  let name: string | null = null;
  if (exported.has("sy_name")) {
    const status = call("sy_name()", () => guest.exports.sy_name());
    const message = call("reading the name", () => guest.message());
    if (status !== STATUS_OK) throw new BuildError("E_BUILD_MODULE", `${label}: sy_name() returned status ${status}: ${message}`);
    name = message;
  }
  const order = exported.has("sy_order") ? call("sy_order()", () => guest.exports.sy_order()) : null;
  if (opts.check) {
    const bytes = Buffer.from(opts.defaultConfig, "utf8");
    const status = call("configure(defaultConfig)", () => guest.exports.sy_configure(guest.writeInput(bytes)), bytes.length);
    if (status === STATUS_REJECTED) {
      throw new BuildError("E_BUILD_CONFIG_REJECTED", `${label}: the plugin rejected its defaultConfig: ${guest.message()}`);
    }
    if (status !== STATUS_OK) throw new BuildError("E_BUILD_MODULE", `${label}: sy_configure returned status ${status}: ${guest.message()}`);
  }
  return { abi, name, order, logs };
}

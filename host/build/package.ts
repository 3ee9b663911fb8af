// The second half of `switchyard build`, shared with `switchyard pack`: a compiled module and its
// plugin.json in, a bundle folder (metadata.json + plugin.wasm, sdk/ABI.md §9) out. The module is probed
// the way the host will load it and the metadata checked by the host's own parser before anything is
// written; the wasm is written before the metadata that names its sha256, each atomically.

import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ABI_VERSION, MAX_METADATA_BYTES, MAX_WASM_BYTES } from "../abi/limits.js";
import { parseMetadata, type BundleMetadata } from "../plugin/bundle.js";
import { callFuel, FuelBudget } from "../sandbox/budget.js";
import { SandboxError } from "../sandbox/errors.js";
import { DEFAULT_START_FUEL, instrument } from "../sandbox/instrument.js";
import { DEFAULT_MEMORY_PAGES } from "../sandbox/plugin-hooks.js";
import { writeFileAtomic } from "../state/atomic-file.js";
import type { GuestSource } from "../abi/guest.js";
import { MAX_COMPONENT_BYTES, WORLD } from "../abi/world.js";
import { isComponent, loadComponent } from "../plugin/component.js";
import { BundleError } from "../plugin/errors.js";
import { BuildError } from "./errors.js";
import type { PluginJson } from "./plugin-json.js";
import { type ProbeSandbox, probeModule } from "./probe.js";

export const WASM_FILE = "plugin.wasm";

export interface PackResult {
  readonly outDir: string;
  readonly wasmPath: string;
  readonly metadataPath: string;
  readonly metadata: BundleMetadata;
  readonly wasmBytes: number;
  /** What the plugin logged while its default config was tried. */
  readonly logs: readonly string[];
}

/**
 * The module to probe, metered and capped the way the host loads it (host/sandbox/options.ts), with the
 * bundle's own budget; the bundle still ships the plain wasm, which the host instruments at load. A module the
 * sandbox refuses is refused here too, unless `check` is off (fixtures broken on purpose), which probes it plain.
 */
function sandboxed(wasm: Uint8Array, plain: WebAssembly.Module, pluginJson: PluginJson, label: string, check: boolean): { module: WebAssembly.Module; sandbox: ProbeSandbox | null } {
  const b = pluginJson.budget ?? {};
  const memoryPages = b.memoryPages ?? DEFAULT_MEMORY_PAGES;
  let metered: Uint8Array;
  let budget: FuelBudget;
  try {
    budget = new FuelBudget(callFuel({ ...(b.cpuMs !== undefined ? { cpuMs: b.cpuMs } : {}), ...(b.fuel !== undefined ? { fuel: b.fuel } : {}) }), memoryPages);
    metered = instrument(wasm, { maxMemoryPages: memoryPages, startFuel: DEFAULT_START_FUEL }).wasm;
  } catch (err) {
    if (!(err instanceof SandboxError)) throw err;
    if (!check) return { module: plain, sandbox: null };
    throw new BuildError("E_BUILD_MODULE", `${label}: the host's sandbox refuses the module: ${err.message}`, { cause: err });
  }
  return { module: new WebAssembly.Module(metered), sandbox: { budget, startFuel: DEFAULT_START_FUEL } };
}

/** A component loaded as the host loads it (host/plugin/component.ts), each core module metered and capped. */
async function sandboxedComponent(wasm: Uint8Array, pluginJson: PluginJson, label: string): Promise<{ module: GuestSource; sandbox: ProbeSandbox }> {
  const b = pluginJson.budget ?? {};
  const memoryPages = b.memoryPages ?? DEFAULT_MEMORY_PAGES;
  try {
    const budget = new FuelBudget(callFuel({ ...(b.cpuMs !== undefined ? { cpuMs: b.cpuMs } : {}), ...(b.fuel !== undefined ? { fuel: b.fuel } : {}) }), memoryPages);
    const code = await loadComponent(wasm, label, { transform: (w) => instrument(w, { maxMemoryPages: memoryPages, startFuel: DEFAULT_START_FUEL }).wasm });
    return { module: code, sandbox: { budget, startFuel: DEFAULT_START_FUEL } };
  } catch (err) {
    if (!(err instanceof BundleError || err instanceof SandboxError)) throw err;
    throw new BuildError("E_BUILD_MODULE", `${label}: the host refuses the component: ${err.message}`, { cause: err });
  }
}

/**
 * Packages `wasm` with `pluginJson` into the bundle folder `outDir`. `label` names the plugin in errors.
 * `check` false skips the host's checks (for fixtures broken on purpose; see BuildOptions.check).
 */
export async function packageModule(wasm: Uint8Array, pluginJson: PluginJson, outDir: string, label: string, check: boolean): Promise<PackResult> {
  const world = isComponent(wasm) ? WORLD : null;
  let target: { module: GuestSource; sandbox: ProbeSandbox | null };
  if (world !== null) {
    target = await sandboxedComponent(wasm, pluginJson, label);
  } else {
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(wasm);
    } catch (err) {
      throw new BuildError("E_BUILD_MODULE", `${label}: the compiled module does not load: ${(err as Error).message}`, { cause: err });
    }
    target = sandboxed(wasm, module, pluginJson, label, check);
  }
  const probed = probeModule(target.module, label, { check, defaultConfig: pluginJson.defaultConfig, sandbox: target.sandbox });

  const raw: Record<string, unknown> = {
    name: probed.name ?? label,
    version: pluginJson.version,
    order: probed.order ?? 0,
    abi: check ? probed.abi : ABI_VERSION,
    ...(world !== null ? { world } : {}),
    wasm: WASM_FILE,
    sha256: createHash("sha256").update(wasm).digest("hex"),
    headers: pluginJson.headers,
    defaultConfig: pluginJson.defaultConfig,
    failurePolicy: pluginJson.failurePolicy,
  };
  if (pluginJson.budget !== undefined) raw.budget = pluginJson.budget;
  let metadata: BundleMetadata;
  try {
    // The host's own metadata validation: a bundle that builds is a bundle the host can read.
    metadata = parseMetadata(raw, label);
  } catch (err) {
    throw new BuildError("E_BUILD_MODULE", `${label}: ${(err as Error).message}`, { cause: err });
  }

  // The host's size limits too (host/plugin/bundle-files.ts), so that a bundle too big to load never builds.
  const metadataText = JSON.stringify(raw, null, 2) + "\n";
  if (world !== null && wasm.length > MAX_COMPONENT_BYTES) throw new BuildError("E_BUILD_MODULE", `${label}: the component is ${wasm.length} bytes, over MAX_COMPONENT_BYTES (${MAX_COMPONENT_BYTES})`);
  if (world === null && wasm.length > MAX_WASM_BYTES) throw new BuildError("E_BUILD_MODULE", `${label}: the module is ${wasm.length} bytes, over MAX_WASM_BYTES (${MAX_WASM_BYTES}); strip its debug sections`);
  if (Buffer.byteLength(metadataText) > MAX_METADATA_BYTES) throw new BuildError("E_BUILD_MODULE", `${label}: metadata.json would be ${Buffer.byteLength(metadataText)} bytes, over MAX_METADATA_BYTES (${MAX_METADATA_BYTES})`);

  const wasmPath = join(outDir, WASM_FILE);
  const metadataPath = join(outDir, "metadata.json");
  try {
    await mkdir(outDir, { recursive: true });
    await writeFileAtomic(wasmPath, wasm);
    await writeFileAtomic(metadataPath, metadataText);
  } catch (err) {
    throw new BuildError("E_BUILD_WRITE", `${label}: cannot write the bundle to ${outDir}: ${(err as Error).message}`, { cause: err });
  }
  return { outDir, wasmPath, metadataPath, metadata, wasmBytes: wasm.length, logs: probed.logs };
}

// `switchyard build --component`: an AssemblyScript plugin as a WebAssembly component of the world
// switchyard:router/plugin@1.0.0 (sdk/wit/router.wit). The plugin's own entry is compiled with the SDK's
// canonical-ABI glue next to it (sdk/assembly/component/exports.ts), so the rule is the same file as in the
// raw build; then the core module keeps only the world's exports, its log import takes the world's name, and
// jco's wasm-tools (componentEmbed, componentNew) wrap it into a component. No wasmtime, no native tool.

import { readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import binaryen from "binaryen";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { compileEntry, type Diagnostic } from "./compile.js";
import { BuildError } from "./errors.js";
import { SDK_DIR, WORLD, WORLD_EXPORTS, WORLD_HOST_INTERFACE } from "../abi/world.js";

const SDK = SDK_DIR;
const WIT_FILE = join(SDK, "wit", "router.wit");

/** The core export names of the glue that differ from the world's (AssemblyScript names cannot hold '-'). */
const RENAMED: Readonly<Record<string, string>> = { set_hosts: "set-hosts", drop_hosts: "drop-hosts" };

/** Compiles the plugin entry `entry` with the component glue; returns the component's bytes. */
export async function buildAssemblyScriptComponent(entry: string, cwd: string = process.cwd()): Promise<{ component: Uint8Array; warnings: Diagnostic[] }> {
  const folder = dirname(entry);
  const glue = relative(folder, join(SDK, "assembly", "component", "exports")).replaceAll("\\", "/");
  const virtual = join(folder, "__switchyard_component__.ts");
  const abort = `${relative(cwd, join(SDK, "assembly", "component", "exports")).replaceAll("\\", "/")}/componentAbort`;
  const { wasm, warnings } = await compileEntry(virtual, cwd, {
    source: `export * from "./index";\nexport * from "${glue.startsWith(".") ? glue : `./${glue}`}";\n`,
    flags: ["--use", `abort=${abort}`],
  });
  const core = worldModule(wasm, relative(cwd, entry));
  let component: Uint8Array;
  try {
    const embedded = await componentEmbed({ binary: core, witSource: await readFile(WIT_FILE, "utf8"), world: "plugin" });
    component = await componentNew(embedded);
  } catch (err) {
    throw new BuildError("E_BUILD_MODULE", `${relative(cwd, entry)}: not a component of ${WORLD}: ${String((err as Error).message ?? err).trim()}`, { cause: err });
  }
  return { component, warnings };
}

/** The core module as the world wants it: the world's exports only, the SDK's log import renamed. */
function worldModule(wasm: Uint8Array, label: string): Uint8Array {
  const mod = binaryen.readBinary(wasm);
  try {
    // Everything but compact imports, which neither V8 nor jco's wasm-tools read.
    mod.setFeatures(binaryen.Features.All & ~((binaryen.Features as unknown as Record<string, number>).CompactImports ?? 0));
    const keep = new Set<string>(["memory", "cabi_realloc", ...WORLD_EXPORTS]);
    const exports: { name: string; value: string; kind: number }[] = [];
    for (let i = 0; i < mod.getNumExports(); i++) {
      const info = binaryen.getExportInfo(mod.getExportByIndex(i));
      exports.push({ name: info.name, value: info.value, kind: info.kind });
    }
    for (const e of exports) {
      const world = RENAMED[e.name] ?? e.name;
      mod.removeExport(e.name);
      if (!keep.has(world)) continue;
      if (e.kind === binaryen.ExternalFunction) mod.addFunctionExport(e.value, world);
      else if (e.kind === binaryen.ExternalMemory) mod.addMemoryExport(e.value, world);
    }
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const f = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
      if (f.module === "switchyard" && f.base === "sy_log") {
        mod.removeFunction(f.name);
        mod.addFunctionImport(f.name, WORLD_HOST_INTERFACE, "log", f.params, f.results);
        break;
      }
    }
    const missing = WORLD_EXPORTS.filter((n) => !exports.some((e) => (RENAMED[e.name] ?? e.name) === n));
    if (missing.length > 0) throw new BuildError("E_BUILD_MODULE", `${label}: the component glue lacks ${missing.join(", ")}`);
    if (!mod.validate()) throw new BuildError("E_BUILD_MODULE", `${label}: the core module is not valid after keeping the world's exports`);
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

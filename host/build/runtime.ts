// The runtime a bundle is built with: AssemblyScript's minimal runtime (TLSF and a two-color mark & sweep
// collector that runs only when asked), plus one accessor, so that the SDK can ask at the end of a call once
// garbage has passed a threshold (sdk/assembly/gc.ts).
//
// Why not the default incremental runtime: it keeps every managed local of every function on a shadow stack
// in linear memory and calls a write barrier on every store of a reference, so that it may collect in the
// middle of a call. Measured here on the example plugins, sy_route took 2.9-3.4x as long with it (e.g.
// header-canary 158 -> 47 ns, version-split 220 -> 75 ns), and the chain of three 1.67 -> 1.28 us. A plugin
// call is short and returns to the host, which is the one point where no reference lives on the wasm stack,
// so collecting there is safe without a shadow stack.
//
// The minimal runtime keeps its size of managed memory in a private global; asc compiles the standard library
// from its own table of sources (asc.libraryFiles), where this adds an exported reader to rt/tcms.

import asc from "assemblyscript/asc";
import { BuildError } from "./errors.js";

/** The minimal runtime's private count of managed bytes, as the standard library declares it. */
const TOTAL_DECLARATION = "@lazy let total: usize = 0;";

/** What this adds: a global function the SDK finds with isDefined(), read-only. */
const ACCESSOR = `

// Added by switchyard build (host/build/runtime.ts): bytes of managed objects, live or garbage, for the
// SDK's collection policy (sdk/assembly/gc.ts).
// @ts-ignore: decorator
@global @inline
export function __sy_managed_bytes(): usize {
  return total;
}
`;

/** asc's runtime name for the SDK's runtime. */
export const RUNTIME = "minimal";

let installed = false;

/**
 * Adds the accessor to asc's rt/tcms source, once per process. Throws E_BUILD_RUNTIME when this version of
 * AssemblyScript does not declare the count as expected (then the SDK's policy could not work).
 */
export function installRuntime(): void {
  if (installed) return;
  const files = asc.libraryFiles as Record<string, string>;
  const source = files["rt/tcms"];
  if (typeof source !== "string" || !source.includes(TOTAL_DECLARATION)) {
    throw new BuildError("E_BUILD_RUNTIME", `this AssemblyScript's rt/tcms does not declare "${TOTAL_DECLARATION}": the SDK's collection policy needs it (assemblyscript ${asc.version})`);
  }
  if (!source.includes("__sy_managed_bytes")) files["rt/tcms"] = source + ACCESSOR;
  installed = true;
}

// The WIT world of component plugins (sdk/wit/router.wit) as the host names it: its id, the functions a
// component must export, the one interface it may import. The raw ABI's counterpart is limits.ts.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The repository's sdk folder: two levels up from host/abi when run from the sources (tests), three from
 * dist/host/abi when run compiled.
 */
export const SDK_DIR = fileURLToPath([new URL("../../sdk/", import.meta.url), new URL("../../../sdk/", import.meta.url)].find((u) => existsSync(fileURLToPath(new URL("wit/router.wit", u))))!);

export const WORLD = "switchyard:router/plugin@1.0.0";
/** The interface of the host's functions (log, fail), as a core module imports it. */
export const WORLD_HOST_INTERFACE = "switchyard:router/host@1.0.0";
export const WORLD_EXPORTS: readonly string[] = Object.freeze(["name", "order", "configure", "headers", "set-hosts", "drop-hosts", "route", "group"]);

/**
 * The largest component file a bundle may hold: a JavaScript guest carries its engine (StarlingMonkey through
 * componentize-js, ~11.6 MB for plugins/header-canary-js), past a raw module's MAX_WASM_BYTES (8 MiB).
 */
export const MAX_COMPONENT_BYTES = 32 * 1024 * 1024;

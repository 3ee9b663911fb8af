// Component bundles (sdk/wit/README.md): a WebAssembly component of the world switchyard:router/plugin@1.0.0,
// verified and turned into JavaScript + core modules by jco's transpilation, its core modules compiled by
// the host itself — each through the same sandbox transform as a raw bundle's module (fuel metering, the
// memory cap) — and instantiated through jco's glue, which the host calls with its own getCoreModule.
//
// Transpiled at load, not at `switchyard build` time: the glue is JavaScript that runs inside the host with
// the host's rights, so it must come from the host's own jco and the component bytes whose sha256 the
// metadata names, never from a file in the bundle, which anyone who can write the plugins folder controls.
// It costs ~1 s of jco per load (not per instance, not per push: the bundle keeps the compiled code).

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ComponentGuestExports, type ComponentExports, worldImports } from "../abi/component-guest.js";
import type { CoreRouteFunctions } from "../abi/component-route.js";
import { type CoreExportRef, coreRouteOf } from "./component-core.js";
import type { GuestCode, GuestExports, GuestLogSink } from "../abi/guest.js";
import { SDK_DIR, WORLD, WORLD_HOST_INTERFACE } from "../abi/world.js";
import { BundleError } from "./errors.js";

const WIT = join(SDK_DIR, "wit", "router.wit");
const TYPES_IMPORT = WORLD_HOST_INTERFACE.replace("/host@", "/types@");
const ALLOWED_IMPORTS = new Set([WORLD_HOST_INTERFACE, TYPES_IMPORT]);

/** What a WASI import would give a plugin, for the refusal's message. */
const WHAT: readonly [RegExp, string][] = [
  [/^wasi:filesystem\//, "the filesystem"],
  [/^wasi:(sockets|http)\//, "the network"],
  [/^wasi:clocks\//, "clocks"],
  [/^wasi:random\//, "randomness"],
  [/^wasi:cli\//, "the process (environment, arguments, stdio, exit)"],
  [/^wasi:io\//, "WASI streams"],
];

/** True for the bytes of a component (layer 1), not a core module. */
export function isComponent(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d && bytes[4] === 0x0d && bytes[5] === 0 && bytes[6] === 1 && bytes[7] === 0;
}

/** The declarations of jco's .d.ts for the world: each `export …` block by name, comments dropped. */
function declarations(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split("\n").filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l));
  let name: string | null = null;
  let body: string[] = [];
  const flush = () => {
    if (name !== null) out.set(name, body.join("\n").trim());
  };
  for (const l of lines) {
    const m = /^export (?:type|interface|function|declare function) (\w+)/.exec(l);
    if (m) {
      flush();
      name = m[1]!;
      body = [l];
    } else if (name !== null) body.push(l);
  }
  flush();
  return out;
}

const decoder = new TextDecoder();
interface ExpectedWorld {
  /** Each type of interface `types` as jco declares it in TypeScript (its fields, cases, names). */
  types: Map<string, string>;
  /** Each export of the world as WIT writes it: `export route: func(…) -> result<answer, string>;`. */
  exports: Map<string, string>;
}
let expected: Promise<ExpectedWorld> | null = null;

/** The export lines of a WIT world, by function name (one line each, as router.wit and jco print them). */
function witExports(wit: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of wit.matchAll(/^\s*(export ([\w-]+): func[^;]*;)/gm)) out.set(m[2]!, m[1]!.replace(/\s+/g, " "));
  return out;
}

type Jco = typeof import("@bytecodealliance/jco");
let jcoModule: Promise<Jco> | undefined;
/** jco (~15 MiB of RSS) is loaded with the first component bundle, not with every host (test/startup-imports.test.ts). */
const jco = (): Promise<Jco> => (jcoModule ??= import("@bytecodealliance/jco"));

/** The world as sdk/wit/router.wit says and jco types it, made once per process. */
function expectedWorld(): Promise<ExpectedWorld> {
  expected ??= (async () => {
    const files = await (await jco()).types(WIT, { worldName: "plugin", instantiation: { tag: "sync" } } as never) as Record<string, Uint8Array>;
    return {
      types: declarations(decoder.decode(files["interfaces/switchyard-router-types.d.ts"])),
      exports: witExports(await readFile(WIT, "utf8")),
    };
  })();
  return expected;
}

/** The imports jco's .d.ts names in the component's ImportObject. */
function importsOf(dts: string): string[] {
  const m = /export interface ImportObject \{([^}]*)\}/.exec(dts);
  return [...(m?.[1] ?? "").matchAll(/'([^']+)'\s*:/g)].map((x) => x[1]!);
}

export interface ComponentLoadOptions {
  /** The sandbox transform of each core module (host/sandbox/plugin-hooks.ts); none: compiled as they are. */
  readonly transform?: (wasm: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  /** Route through jco's glue even when the host can call the core route itself (the bench's comparison). */
  readonly routeThroughGlue?: boolean;
}

/**
 * Verifies and prepares the component `bytes` of bundle `bundle`. Refusals: E_BUNDLE_NOT_WASM (not a
 * component, or jco cannot read it), E_BUNDLE_IMPORT (an import outside the world, named, with what it would
 * reach), E_BUNDLE_WORLD (an export missing or typed otherwise than the world), E_BUNDLE_SANDBOX.
 */
export async function loadComponent(bytes: Uint8Array, bundle: string, opts: ComponentLoadOptions = {}): Promise<GuestCode> {
  if (!isComponent(bytes)) throw new BundleError("E_BUNDLE_NOT_WASM", bundle, `metadata.json says world ${WORLD}, but the file is not a WebAssembly component (no component header)`);
  let files: Record<string, Uint8Array>;
  try {
    ({ files } = await (await jco()).transpile(bytes, {
      name: "plugin",
      instantiation: { tag: "sync" },
      wasiShim: false,
      noComponentErrorWrapping: true,
      base64Cutoff: 0,
    } as never) as { files: Record<string, Uint8Array> });
  } catch (err) {
    throw new BundleError("E_BUNDLE_NOT_WASM", bundle, `jco cannot transpile the component: ${firstLine(err)}`, { cause: err });
  }
  const dts = decoder.decode(files["plugin.d.ts"] ?? new Uint8Array());
  const outside = importsOf(dts).filter((i) => !ALLOWED_IMPORTS.has(i));
  if (outside.length > 0) {
    const named = outside.map((i) => {
      const what = WHAT.find(([re]) => re.test(i));
      return what ? `${i} (${what[1]})` : i;
    });
    const version = outside.find((i) => i.startsWith("switchyard:router/"));
    const hint = version ? `; this host speaks ${WORLD}` : "";
    throw new BundleError("E_BUNDLE_IMPORT", bundle, `the component imports ${named.join(", ")}; a plugin may import only ${WORLD_HOST_INTERFACE} (log, fail)${hint}`);
  }
  await checkWorld(bytes, files, bundle);
  const glue = files["plugin.js"];
  if (glue === undefined) throw new BundleError("E_BUNDLE_NOT_WASM", bundle, "jco produced no plugin.js");
  const coreRoute = opts.routeThroughGlue ? null : coreRouteOf(decoder.decode(glue));
  const modules = new Map<string, WebAssembly.Module>();
  for (const [name, wasm] of Object.entries(files)) {
    if (!name.endsWith(".wasm")) continue;
    let runnable = wasm;
    if (opts.transform) {
      try {
        runnable = await opts.transform(wasm);
      } catch (err) {
        const e = err as Error & { code?: string };
        throw new BundleError("E_BUNDLE_SANDBOX", bundle, `the sandbox refused core module ${name}${e.code ? ` (${e.code})` : ""}: ${e.message}`, { cause: err });
      }
    }
    try {
      modules.set(name, new WebAssembly.Module(runnable));
    } catch (err) {
      throw new BundleError("E_BUNDLE_NOT_WASM", bundle, `core module ${name} does not compile: ${firstLine(err)}`, { cause: err });
    }
  }
  // The glue imports nothing (instantiation mode, no WASI): a data: URL module, cached by its text.
  const glueModule = (await import(`data:text/javascript;base64,${Buffer.from(glue).toString("base64")}`)) as {
    instantiate(get: (name: string) => WebAssembly.Module, imports: unknown, core: (m: WebAssembly.Module, i?: WebAssembly.Imports) => WebAssembly.Instance): ComponentExports;
  };
  return {
    instantiate(sink: GuestLogSink): GuestExports {
      const core: WebAssembly.Exports[] = [];
      const get = (name: string): WebAssembly.Module => {
        const m = modules.get(name);
        if (m === undefined) throw new Error(`the glue asked for core module ${name}, which the component does not have`);
        return m;
      };
      const c = glueModule.instantiate(get, worldImports(sink), (m, i) => {
        const inst = new WebAssembly.Instance(m, i ?? {});
        core.push(inst.exports);
        return inst;
      });
      return new ComponentGuestExports(c, core, coreRoute === null ? null : routeFunctions(core, coreRoute));
    },
  };
}

/** The core functions `route` names, from the instances the glue made; null when one is not there. */
function routeFunctions(core: readonly WebAssembly.Exports[], r: NonNullable<ReturnType<typeof coreRouteOf>>): CoreRouteFunctions | null {
  const get = (ref: CoreExportRef): unknown => core[ref.instance]?.[ref.name];
  const route = get(r.route);
  const memory = get(r.memory);
  const realloc = get(r.realloc);
  const postReturn = r.postReturn === null ? null : get(r.postReturn);
  if (typeof route !== "function" || !(memory instanceof WebAssembly.Memory) || typeof realloc !== "function") return null;
  if (postReturn !== null && typeof postReturn !== "function") return null;
  return { route, memory, realloc, postReturn } as CoreRouteFunctions;
}

/**
 * The component's exports against the world's: each function's WIT signature as jco's wasm-tools print the
 * component, and each type it uses as jco declares it (the signatures name the types; the declarations
 * hold their fields and cases).
 */
async function checkWorld(bytes: Uint8Array, files: Record<string, Uint8Array>, bundle: string): Promise<void> {
  const want = await expectedWorld();
  let printed: string;
  try {
    printed = await (await jco()).componentWit(bytes);
  } catch (err) {
    throw new BundleError("E_BUNDLE_NOT_WASM", bundle, `jco cannot print the component's world: ${firstLine(err)}`, { cause: err });
  }
  const got = witExports(printed);
  for (const [fn, line] of want.exports) {
    const have = got.get(fn);
    if (have === undefined) throw new BundleError("E_BUNDLE_WORLD", bundle, `the component does not export ${fn} of ${WORLD} (${line})`);
    if (have !== line) throw new BundleError("E_BUNDLE_WORLD", bundle, `the component has \`${have}\`, ${WORLD} says \`${line}\``);
  }
  const typesDts = files["interfaces/switchyard-router-types.d.ts"];
  if (typesDts === undefined) return;
  for (const [name, decl] of declarations(decoder.decode(typesDts))) {
    const w = want.types.get(name);
    if (w !== decl) throw new BundleError("E_BUNDLE_WORLD", bundle, `the component's type ${name} is not ${WORLD}'s: ${w === undefined ? "the world has no such type" : "its fields differ"}`);
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).trim().split("\n")[0]!;
}

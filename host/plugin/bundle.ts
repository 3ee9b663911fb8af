// Loading and verifying a bundle folder (sdk/ABI.md §9): metadata.json checked field by field, the wasm's
// sha256, that it is wasm at all, its exports and imports, and what the module says of itself (ABI version,
// name, order) against what metadata.json says. Each failure is its own coded BundleError naming the bundle.

import { createHash } from "node:crypto";
import { basename } from "node:path";
import { ABI_VERSION, MAX_HEADERS, MAX_METADATA_BYTES, MAX_WASM_BYTES } from "../abi/limits.js";
import { Guest, type GuestSource, inspectModule } from "../abi/guest.js";
import { type SignaturePolicy, verifyBundleSignature } from "./signature.js";
import { readBundleFile } from "./bundle-files.js";
import { BundleError } from "./errors.js";
import { isComponent, loadComponent } from "./component.js";
import { MAX_COMPONENT_BYTES, WORLD } from "../abi/world.js";
import { type BundleBudget, type FailurePolicy, readSharedFields } from "./bundle-fields.js";
import { jsonSyntaxError } from "../util/json-syntax.js";


export interface BundleMetadata {
  readonly name: string;
  readonly version: string;
  readonly order: number;
  readonly abi: number;
  readonly wasm: string;
  readonly sha256: string;
  /** Lowercase header names the plugin reads, or null for every header. */
  readonly headers: readonly string[] | null;
  readonly defaultConfig: string;
  readonly failurePolicy: FailurePolicy;
  readonly budget: BundleBudget;
  /** A component bundle's WIT world (host/abi/world.ts WORLD); null for a raw ABI v1 module. */
  readonly world: string | null;
}

export interface Bundle {
  readonly dir: string;
  readonly metadata: BundleMetadata;
  /**
   * What instances are made from: the verified module (instrumented by the sandbox when it is on), or for a
   * component bundle its code, whose core modules the host compiled the same way (component.ts).
   */
  readonly module: GuestSource;
  readonly wasmBytes: Uint8Array;
}

export interface LoadOptions {
  /** Rewrites the verified wasm before compiling, e.g. the sandbox's fuel metering and memory cap. */
  readonly transform?: (wasm: Uint8Array, metadata: BundleMetadata) => Uint8Array | Promise<Uint8Array>;
  /** The keys a host trusts and whether a signature is required (signature.ts); none: no check. */
  readonly signatures?: SignaturePolicy;
  /** A component's route through jco's glue, not the host's direct call (bench/components.ts compares them). */
  readonly routeThroughGlue?: boolean;
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Validates metadata.json's parsed value; every problem names its field. */
export function parseMetadata(raw: unknown, bundle: string): BundleMetadata {
  const fail = (field: string, expected: string): never => {
    throw new BundleError("E_BUNDLE_METADATA", bundle, `metadata.json: ${field}: expected ${expected}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("(root)", "an object");
  const m = raw as Record<string, unknown>;
  const name = m.name;
  if (typeof name !== "string" || !NAME_RE.test(name)) fail("name", "a lowercase name of 1-63 characters [a-z0-9._-]");
  if (!Number.isInteger(m.order) || (m.order as number) < -1_000_000 || (m.order as number) > 1_000_000) fail("order", "an integer in -1000000..1000000");
  if (!Number.isInteger(m.abi)) fail("abi", `an integer (this host speaks ABI ${ABI_VERSION})`);
  if (m.abi !== ABI_VERSION) throw new BundleError("E_BUNDLE_ABI_VERSION", bundle, `metadata.json says ABI ${String(m.abi)}, this host speaks ABI ${ABI_VERSION}`);
  const wasm = m.wasm ?? "plugin.wasm";
  if (typeof wasm !== "string" || wasm !== basename(wasm) || !wasm.endsWith(".wasm")) fail("wasm", "a file name ending in .wasm inside the bundle folder");
  if (typeof m.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(m.sha256)) fail("sha256", "64 lowercase hex digits");
  const shared = readSharedFields(m, fail, {
    configAsJson: false,
    tooManyHeaders: (count) => {
      throw new BundleError("E_BUNDLE_TOO_MANY_HEADERS", bundle, `metadata.json: headers: ${count} names, over MAX_HEADERS (${MAX_HEADERS}); omit it or use null to read every header`);
    },
  });
  let world: string | null = null;
  if (m.world !== undefined && m.world !== null) {
    if (typeof m.world !== "string") fail("world", `a string, the component's WIT world (${WORLD})`);
    if (m.world !== WORLD) {
      const version = /^switchyard:router\/plugin@(.+)$/.exec(m.world as string);
      throw new BundleError("E_BUNDLE_WORLD", bundle, version ? `metadata.json says world version ${version[1]}, this host speaks ${WORLD}` : `metadata.json: world: ${JSON.stringify(m.world).slice(0, 100)} is not a world this host speaks (${WORLD})`);
    }
    world = WORLD;
  }
  return Object.freeze({
    world,
    name: name as string,
    version: shared.version,
    order: m.order as number,
    abi: m.abi as number,
    wasm: wasm as string,
    sha256: m.sha256 as string,
    headers: shared.headers,
    defaultConfig: shared.defaultConfig,
    failurePolicy: shared.failurePolicy,
    budget: shared.budget,
  });
}

const METADATA_LIMIT = { bytes: MAX_METADATA_BYTES, name: "MAX_METADATA_BYTES", code: "E_BUNDLE_METADATA_TOO_LARGE" } as const;
const WASM_LIMIT = { bytes: MAX_WASM_BYTES, name: "MAX_WASM_BYTES", code: "E_BUNDLE_WASM_TOO_LARGE" } as const;
const COMPONENT_LIMIT = { bytes: MAX_COMPONENT_BYTES, name: "MAX_COMPONENT_BYTES", code: "E_BUNDLE_WASM_TOO_LARGE" } as const;

/**
 * metadata.json of bundle folder `dir`, parsed; E_BUNDLE_METADATA when it is not UTF-8 JSON. The file may be
 * anything (it is read before anything says what it is), so no error quotes it: a syntax error gives the
 * position and what was expected there, never the text around it.
 */
export async function readMetadataJson(dir: string, label: string): Promise<{ raw: unknown; bytes: Buffer }> {
  const bytes = await readBundleFile(dir, "metadata.json", METADATA_LIMIT, label, "E_BUNDLE_METADATA");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new BundleError("E_BUNDLE_METADATA", label, "metadata.json is not UTF-8 text");
  }
  try {
    return { raw: JSON.parse(text) as unknown, bytes };
  } catch {
    const where = jsonSyntaxError(text);
    const at = where ? `at byte ${where.offset} (line ${where.line}, column ${where.column}): ${where.message}` : "";
    // Ending before the JSON does is what a metadata.json still being written looks like.
    const incomplete = where !== null && where.atEnd;
    throw new BundleError("E_BUNDLE_METADATA", label, `metadata.json is not JSON ${at}`.trimEnd(), { incomplete });
  }
}

/** Loads and verifies the bundle in `dir`. Nothing is registered anywhere: the caller swaps it in. */
export async function loadBundle(dir: string, opts: LoadOptions = {}): Promise<Bundle> {
  const label = basename(dir);
  const { raw, bytes: metadataBytes } = await readMetadataJson(dir, label);
  const metadata = parseMetadata(raw, label);
  const bundle = metadata.name;
  const wasmBytes = new Uint8Array(await readBundleFile(dir, metadata.wasm, metadata.world === null ? WASM_LIMIT : COMPONENT_LIMIT, bundle, "E_BUNDLE_NOT_WASM"));
  const digest = createHash("sha256").update(wasmBytes).digest("hex");
  if (digest !== metadata.sha256) {
    // A wasm still being copied (or metadata.json of the next version, arrived first) does not match yet.
    throw new BundleError("E_BUNDLE_SHA256", bundle, `${metadata.wasm} has sha256 ${digest}, metadata.json says ${metadata.sha256}`, { incomplete: true });
  }
  await verifyBundleSignature(dir, bundle, metadataBytes, wasmBytes, opts.signatures);
  if (metadata.world !== null) {
    const transform = opts.transform;
    const code = await loadComponent(wasmBytes, bundle, { ...(transform ? { transform: (wasm: Uint8Array) => transform(wasm, metadata) } : {}), routeThroughGlue: opts.routeThroughGlue === true });
    probe(code, metadata);
    return Object.freeze({ dir, metadata, module: code, wasmBytes });
  }
  if (isComponent(wasmBytes)) throw new BundleError("E_BUNDLE_METADATA", bundle, `metadata.json: world: required, the file is a WebAssembly component (say "world": "${WORLD}")`);
  const module = compile(wasmBytes, bundle, "");
  verifyModule(module, bundle);
  let runnable = module;
  if (opts.transform) {
    let transformed: Uint8Array;
    try {
      transformed = await opts.transform(wasmBytes, metadata);
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new BundleError("E_BUNDLE_SANDBOX", bundle, `the sandbox refused the module${e.code ? ` (${e.code})` : ""}: ${e.message}`, { cause: err });
    }
    runnable = compile(transformed, bundle, " after instrumentation");
  }
  probe(runnable, metadata);
  return Object.freeze({ dir, metadata, module: runnable, wasmBytes });
}

function compile(bytes: Uint8Array, bundle: string, when: string): WebAssembly.Module {
  const magic = bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d;
  if (!magic) throw new BundleError("E_BUNDLE_NOT_WASM", bundle, `the file is not WebAssembly (no \\0asm header${when})`);
  try {
    return new WebAssembly.Module(bytes);
  } catch (err) {
    throw new BundleError("E_BUNDLE_NOT_WASM", bundle, `the module does not compile${when}: ${(err as Error).message}`, { cause: err });
  }
}

function verifyModule(module: WebAssembly.Module, bundle: string): void {
  const { missing, badImports } = inspectModule(module);
  if (missing.length > 0) throw new BundleError("E_BUNDLE_MISSING_EXPORT", bundle, `missing required export(s): ${missing.join(", ")}`);
  if (badImports.length > 0) {
    throw new BundleError("E_BUNDLE_IMPORT", bundle, `imports ${badImports.join(", ")}; only switchyard.sy_log, switchyard.sy_fail and env.abort are provided`);
  }
}

/** Instantiates once to check what the module says of itself against metadata.json. */
function probe(module: GuestSource, metadata: BundleMetadata): void {
  const bundle = metadata.name;
  let guest: Guest;
  try {
    guest = Guest.instantiate(module, { enabled: () => false, log: () => undefined });
  } catch (err) {
    throw new BundleError("E_BUNDLE_START", bundle, `instantiation failed: ${(err as Error).message}`, { cause: err });
  }
  let abi: number;
  let name: string;
  let order: number;
  try {
    abi = guest.exports.sy_abi_version();
    if (abi !== ABI_VERSION) throw new BundleError("E_BUNDLE_ABI_VERSION", bundle, `sy_abi_version() returned ${abi}, this host speaks ABI ${ABI_VERSION}`);
    const status = guest.exports.sy_name();
    if (status !== 0) throw new BundleError("E_BUNDLE_NAME_MISMATCH", bundle, `sy_name() returned status ${status}`);
    name = guest.message();
    order = guest.exports.sy_order();
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw new BundleError("E_BUNDLE_START", bundle, `probing the module failed: ${(err as Error).message}`, { cause: err });
  }
  if (name !== metadata.name) throw new BundleError("E_BUNDLE_NAME_MISMATCH", bundle, `sy_name() says "${name}", metadata.json says "${metadata.name}"`);
  if (order !== metadata.order) throw new BundleError("E_BUNDLE_ORDER_MISMATCH", bundle, `sy_order() says ${order}, metadata.json says ${metadata.order}`);
}

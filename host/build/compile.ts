// Compiling a plugin's AssemblyScript entry with the asc API, in memory: nothing is written unless the
// module compiles and passes its checks. Diagnostics come back as "file:line:col: error TSnnnn: message".

import { readFileSync } from "node:fs";
import { lineColumn } from "../util/json-syntax.js";
import { relative, resolve } from "node:path";
import asc from "assemblyscript/asc";
import { BuildError } from "./errors.js";
import { installRuntime, RUNTIME } from "./runtime.js";

/**
 * The release flags. -O3 measured best for route time; the minimal runtime, which the SDK collects at the end
 * of calls (runtime.ts, sdk/assembly/gc.ts), made calls ~3x faster than the incremental one (a stub runtime
 * would grow memory on every allocating request until the memory cap); --noAssert drops assert() but keeps
 * the SDK's explicit abort()s, which are the limit checks.
 */
const RELEASE_FLAGS: readonly string[] = ["-O3", "--runtime", RUNTIME, "--noAssert", "--noColors"];

// asc's DiagnosticCategory: Pedantic, Info, Warning, Error.
const CATEGORY = ["pedantic", "info", "warning", "error"];

export interface Diagnostic {
  readonly file: string | null;
  readonly line: number;
  readonly column: number;
  readonly severity: string;
  readonly code: number;
  readonly message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file === null ? "" : `${d.file}:${d.line}:${d.column}: `;
  return `${where}${d.severity} TS${d.code}: ${d.message}`;
}

function position(path: string, offset: number, texts: Map<string, string>): { line: number; column: number } {
  let text = texts.get(path);
  if (text === undefined) {
    try {
      text = readFileSync(path, "utf8");
    } catch {
      text = "";
    }
    texts.set(path, text);
  }
  return lineColumn(text, offset);
}

/** What a component build (component.ts) changes: an entry text that is no file, and flags added to RELEASE_FLAGS. */
export interface CompileVariant {
  /** The text of `entry`, which need not exist on disk (its imports resolve from its folder). */
  readonly source?: string;
  readonly flags?: readonly string[];
}

/** Compiles `entry` (a path) to wasm bytes; throws E_BUILD_COMPILE with every diagnostic on failure. */
export async function compileEntry(entry: string, cwd: string = process.cwd(), variant: CompileVariant = {}): Promise<{ wasm: Uint8Array; warnings: Diagnostic[] }> {
  installRuntime();
  const diagnostics: Diagnostic[] = [];
  const texts = new Map<string, string>();
  let wasm: Uint8Array | null = null;
  const stderr = asc.createMemoryStream();
  const entryPath = resolve(cwd, entry);
  const result = await asc.main([relative(cwd, entry), "--outFile", "plugin.wasm", "--baseDir", cwd, ...RELEASE_FLAGS, ...(variant.flags ?? [])], {
    ...(variant.source === undefined ? {} : { readFile: (name: string, baseDir: string) => readSource(resolve(baseDir, name), entryPath, variant.source!) }),
    stdout: asc.createMemoryStream(),
    stderr,
    writeFile(name: string, contents: Uint8Array | string) {
      if (name.endsWith(".wasm") && typeof contents !== "string") wasm = contents;
    },
    reportDiagnostic(d) {
      let file: string | null = null;
      let line = 0;
      let column = 0;
      if (d.range !== null && !d.range.source.normalizedPath.startsWith("~lib/")) {
        const path = resolve(cwd, d.range.source.normalizedPath);
        file = relative(cwd, path);
        ({ line, column } = position(path, d.range.start, texts));
      } else if (d.range !== null) {
        file = d.range.source.normalizedPath;
      }
      diagnostics.push({ file, line, column, severity: CATEGORY[d.category] ?? "error", code: d.code, message: d.message });
    },
  });
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (result.error !== null || wasm === null) {
    const lines = errors.length > 0 ? errors.map(formatDiagnostic) : [stderr.toString().trim() || String(result.error?.message ?? "no wasm produced")];
    throw new BuildError("E_BUILD_COMPILE", `${relative(cwd, entry)} does not compile:\n${lines.join("\n")}`);
  }
  return { wasm, warnings: diagnostics.filter((d) => d.severity === "warning") };
}

function readSource(path: string, entry: string, source: string): string | null {
  if (path === entry) return source;
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

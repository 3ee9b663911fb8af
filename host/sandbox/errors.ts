// Errors of instrumenting a plugin module for the sandbox. Each has a stable code and names the module and
// what in it was refused; the bundle loader reports them as the bundle's failure.

import { SwitchyardError } from "../plugin/errors.js";

export const SANDBOX_ERROR_CODES = [
  /** Not a WebAssembly module, truncated, or rejected by the engine's validator. */
  "E_SANDBOX_NOT_WASM",
  /** More than one memory (defined or imported). */
  "E_SANDBOX_MULTI_MEMORY",
  /** The memory is imported: the plugin must own its memory so that the sandbox can cap it. */
  "E_SANDBOX_IMPORTED_MEMORY",
  /** A shared or 64-bit memory, which the cap does not cover. */
  "E_SANDBOX_MEMORY_KIND",
  /** The memory's initial size is already above the cap. */
  "E_SANDBOX_MEMORY_INITIAL",
  /** The module already exports a name the sandbox adds. */
  "E_SANDBOX_EXPORT_CLASH",
  /** An instruction or feature the metering does not know how to walk. */
  "E_SANDBOX_UNSUPPORTED",
  /** instrument() was called with options out of range. */
  "E_SANDBOX_OPTIONS",
  /** The instrumented module failed validation: a bug of the sandbox, never of the plugin. */
  "E_SANDBOX_INTERNAL",
  /** The instrumenter's process could not be started, or died before answering. */
  "E_SANDBOX_INSTRUMENTER",
] as const;
export type SandboxErrorCode = (typeof SANDBOX_ERROR_CODES)[number];

export class SandboxError extends SwitchyardError {
  declare readonly code: SandboxErrorCode;
  /** What is refused, e.g. "memory 0" or "function $route". */
  readonly where: string;
  readonly detail: string;
  constructor(code: SandboxErrorCode, where: string, detail: string, options?: { cause?: unknown }) {
    super(code, `sandbox: ${where}: ${detail}`, options);
    this.where = where;
    this.detail = detail;
  }
}

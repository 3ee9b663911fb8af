// Every error of loading and running plugins: a stable code, a default message, and what it names (the
// bundle or plugin). test/plugin-errors.test.ts checks each list against the codes the host throws.

import { SwitchyardError } from "../util/coded-error.js";

export { SwitchyardError };

/**
 * A bundle could not be loaded; `bundle` names the folder (or the plugin once known). `incomplete`: what a
 * folder still being copied looks like (a file missing, a metadata.json that ends early, a wasm whose sha256
 * does not match yet); the watcher waits for such a folder to settle before it calls it refused.
 */
export class BundleError extends SwitchyardError {
  readonly incomplete: boolean;
  constructor(code: BundleErrorCode, readonly bundle: string, detail: string, options?: { cause?: unknown; incomplete?: boolean }) {
    super(code, `bundle ${bundle}: ${detail}`, options);
    this.incomplete = options?.incomplete ?? false;
  }
}

export const BUNDLE_ERROR_CODES = [
  "E_BUNDLE_METADATA",
  "E_BUNDLE_SHA256",
  "E_BUNDLE_NOT_WASM",
  "E_BUNDLE_ABI_VERSION",
  "E_BUNDLE_MISSING_EXPORT",
  "E_BUNDLE_IMPORT",
  /** A component bundle of another world or world version, or whose exports do not match the world. */
  "E_BUNDLE_WORLD",
  "E_BUNDLE_NAME_MISMATCH",
  "E_BUNDLE_ORDER_MISMATCH",
  "E_BUNDLE_CONFIG_REJECTED",
  "E_BUNDLE_START",
  "E_BUNDLE_SANDBOX",
  "E_BUNDLE_DUPLICATE",
  "E_BUNDLE_UNSIGNED",
  "E_BUNDLE_UNTRUSTED",
  "E_BUNDLE_SIGNATURE",
  "E_BUNDLE_FILE_TYPE",
  "E_BUNDLE_METADATA_TOO_LARGE",
  "E_BUNDLE_WASM_TOO_LARGE",
  "E_BUNDLE_TOO_MANY_HEADERS",
] as const;
export type BundleErrorCode = (typeof BUNDLE_ERROR_CODES)[number];

/**
 * What kind of failure a plugin call ended in; each kind is counted apart in metrics and logs. "quarantined"
 * is a request a fail-closed plugin refused without being called.
 */
export type FailureKind = "trap" | "abort" | "budget" | "memory" | "answer" | "status" | "area" | "quarantined";

/**
 * A plugin call that failed. Wrapped with its origin so that a log line says whose fault it was
 * (extism: "Plugin-originated error").
 */
export class PluginFailure extends SwitchyardError {
  constructor(
    readonly kind: FailureKind,
    readonly plugin: string,
    readonly version: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`E_PLUGIN_${kind.toUpperCase()}`, `plugin ${plugin}@${version} failed (${kind}): ${detail}`, options);
  }
}

/** A config the plugin's own configure refused; `reason` is the plugin's message, verbatim. */
export class ConfigRejected extends SwitchyardError {
  constructor(readonly plugin: string, readonly reason: string) {
    super("E_PLUGIN_CONFIG_REJECTED", `plugin ${plugin} rejected its config: ${reason}`);
  }
}

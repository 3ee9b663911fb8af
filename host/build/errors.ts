// Errors of `switchyard build`: each with a stable code and a message naming the plugin folder or file.

import { SwitchyardError } from "../plugin/errors.js";

export const BUILD_ERROR_CODES = [
  "E_BUILD_USAGE",
  "E_BUILD_PLUGIN_JSON",
  "E_BUILD_COMPILE",
  "E_BUILD_MODULE",
  "E_BUILD_CONFIG_REJECTED",
  /** The probe ran out of the sandbox's fuel: top-level code, sy_name/sy_order or configure loops. */
  "E_BUILD_BUDGET",
  "E_BUILD_WRITE",
  "E_BUILD_RUNTIME",
] as const;
export type BuildErrorCode = (typeof BUILD_ERROR_CODES)[number];

export class BuildError extends SwitchyardError {
  constructor(code: BuildErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

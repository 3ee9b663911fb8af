// The composition root's own coded errors: what stops a start (a listener that cannot bind, a plugins folder
// that cannot be read) and a source's host list that is not JSON.
// Which HTTP status an admin answer gives for a code is decided in host/admin/errors.ts only.

import { SwitchyardError } from "../util/coded-error.js";

export const HOST_ERROR_CODES = ["E_HOSTS_NOT_JSON", "E_LISTEN", "E_PLUGINS_DIR"] as const;

export type HostErrorCode = (typeof HOST_ERROR_CODES)[number];

export class HostError extends SwitchyardError {
  constructor(code: HostErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

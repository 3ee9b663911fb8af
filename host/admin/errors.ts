// The admin API's own error codes, each answered in the one error shape of host/admin/http.ts (problem).
// Other answers pass through the code of what refused (E_PUSH_…, E_PLUGIN_…, E_HOST_…, E_EXPLAIN, the request
// head's codes of host/server/request-head.ts). test/plugin-errors.test.ts checks the list against the codes used.

export const ADMIN_ERROR_CODES = [
  "E_ADMIN_BAD_BODY",
  "E_ADMIN_BAD_IF_MATCH",
  "E_ADMIN_BAD_PATH",
  "E_ADMIN_CONTENT_TYPE",
  "E_ADMIN_CROSS_SITE",
  "E_ADMIN_INTERNAL",
  "E_ADMIN_METHOD_NOT_ALLOWED",
  "E_ADMIN_NOT_FOUND",
  "E_ADMIN_TOKEN_FILE",
  "E_ADMIN_UNAUTHORIZED",
] as const;

/**
 * The HTTP status of an answer refused with another layer's code: decided here and nowhere else (the layers
 * throw codes, not statuses). A code not listed is the caller's mistake in what it sent: 400.
 */
const STATUS_OF: Readonly<Record<string, number>> = Object.freeze({
  E_PUSH_UNKNOWN_PLUGIN: 404,
  E_PUSH_VERSION_MISMATCH: 409,
  E_PUSH_TOO_LARGE: 413,
  E_PUSH_NOT_TEXT: 400,
  E_CLUSTER_NOT_FOUND: 404,
});

export function statusOf(code: string): number {
  return STATUS_OF[code] ?? 400;
}

// gRPC's status codes by the names gRPC gives them, for what shows or reads them: explain, the route config.

/** The names of gRPC's status codes 0..16, by code. */
export const GRPC_STATUS_NAMES: readonly string[] = Object.freeze([
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
  "UNAUTHENTICATED",
]);

/** Codes 1..16 as Envoy's retry_on names the gRPC ones ("unavailable", "resource-exhausted"): index = code - 1. */
export const GRPC_RETRY_NAMES: readonly string[] = Object.freeze(GRPC_STATUS_NAMES.slice(1).map((n) => n.toLowerCase().replaceAll("_", "-")));

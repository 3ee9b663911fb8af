// gRPC over the proxy (issue 15). A gRPC call is an HTTP/2 request with content-type application/grpc; what the
// proxy itself answers to one (no route, no host, a plugin's Reject, a deadline) must be a gRPC answer — HTTP
// 200 with grpc-status and grpc-message and no message (gRPC over HTTP/2, Trailers-Only) —
// or a gRPC client reports a protocol error instead of the reason. grpc-timeout is the call's deadline.

import type { ServerResponse } from "node:http";

/** gRPC status codes (grpc/status.proto) the proxy answers with. */
export const GrpcStatus = {
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DEADLINE_EXCEEDED: 4,
  UNIMPLEMENTED: 12,
  PERMISSION_DENIED: 7,
  UNAUTHENTICATED: 16,
  RESOURCE_EXHAUSTED: 8,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  UNKNOWN: 2,
} as const;

export function isGrpc(contentType: string | string[] | undefined): boolean {
  return typeof contentType === "string" && contentType.startsWith("application/grpc");
}

/**
 * The gRPC status for an answer the proxy gives with `httpStatus` (its own failures, a plugin's Reject): gRPC's
 * own HTTP-to-gRPC status mapping where it has the status, DEADLINE_EXCEEDED for the
 * route timeout (E_ROUTE_TIMEOUT, E_UPSTREAM_TIMEOUT), and for the statuses a plugin is likely to choose the
 * code of the same meaning, so that a plugin author picks the gRPC status by picking the HTTP one.
 */
export function grpcStatusFor(httpStatus: number, code: string | null): number {
  if (code === "E_ROUTE_TIMEOUT" || code === "E_UPSTREAM_TIMEOUT") return GrpcStatus.DEADLINE_EXCEEDED;
  switch (httpStatus) {
    case 400: return GrpcStatus.INTERNAL;
    case 401: return GrpcStatus.UNAUTHENTICATED;
    case 403: return GrpcStatus.PERMISSION_DENIED;
    case 404: return GrpcStatus.UNIMPLEMENTED;
    case 408: return GrpcStatus.DEADLINE_EXCEEDED;
    case 429: return GrpcStatus.UNAVAILABLE;
    case 431: return GrpcStatus.RESOURCE_EXHAUSTED;
    case 502: case 503: case 504: return GrpcStatus.UNAVAILABLE;
    default: return GrpcStatus.UNKNOWN;
  }
}

/** grpc-message is percent-encoded (gRPC over HTTP/2): every byte outside 0x20..0x7e, and '%'. */
function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const b of Buffer.from(message.trimEnd(), "utf8")) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Answers a call the proxy ends itself: HTTP 200, then grpc-status and grpc-message as trailers. (node:http2's
 * compatibility API cannot send one HEADERS frame with END_STREAM, gRPC's Trailers-Only form; headers followed
 * by trailers is the other form a gRPC client reads, and the same as ending a call whose headers were sent.)
 */
export function writeGrpcError(res: ServerResponse, status: number, message: string): void {
  if (!res.headersSent) res.writeHead(200, { "content-type": "application/grpc" });
  res.addTrailers({ "grpc-status": String(status), "grpc-message": encodeGrpcMessage(message) });
  res.end();
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };

/** grpc-timeout ("100m", "5S": at most 8 digits and a unit) in milliseconds, rounded up; null when malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | null {
  if (typeof value !== "string") return null;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return null;
  return Math.max(1, Math.ceil(Number(m[1]) * UNIT_MS[m[2]!]!));
}

// Every way a forwarded request can fail, each with a stable code, the status the client gets, and a default
// message. The forwarder builds these only on failure paths; a request that succeeds allocates none.
// test/plugin-errors.test.ts checks the list against the codes the host throws.

import { SwitchyardError } from "../util/coded-error.js";

export class ProxyError extends SwitchyardError {
  declare readonly code: ProxyErrorCode;
  /** The status answered to the client when headers were not sent yet; 0 when no answer is sent. */
  readonly status: number;
  constructor(code: ProxyErrorCode, status: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

export const PROXY_ERROR_CODES = [
  "E_FORWARD_POLICY_INVALID",
  "E_NO_HOST",
  "E_UPSTREAM_CONNECT",
  "E_UPSTREAM_TLS",
  "E_UPSTREAM_RESET",
  "E_UPSTREAM_TIMEOUT",
  "E_ROUTE_TIMEOUT",
  "E_UPSTREAM_PROTOCOL",
  "E_CLIENT_ABORTED",
  "E_POOLS_CLOSED",
  "E_REQUEST_INVALID",
  "E_POOL_OPTIONS_INVALID",
] as const;
export type ProxyErrorCode = (typeof PROXY_ERROR_CODES)[number];

/** A forward policy (timeouts, retry, rewrites) that cannot be used; `where` names the bad field. */
export class ForwardPolicyError extends ProxyError {
  constructor(readonly where: string, detail: string) {
    super("E_FORWARD_POLICY_INVALID", 0, `${where}: ${detail}`);
  }
}

/** The balancer had no host left to try (none at all, or every one already failed this request). */
export class NoHostError extends ProxyError {
  constructor(readonly attempts: number) {
    super("E_NO_HOST", 503, attempts === 0 ? "no upstream host available" : `no upstream host left after ${attempts} attempt(s)`);
  }
}

/** The last attempt could not connect (refused, unreachable, DNS, connect timeout). */
export class UpstreamConnectError extends ProxyError {
  constructor(readonly upstream: string, options?: { cause?: unknown }) {
    super("E_UPSTREAM_CONNECT", 503, `cannot connect to upstream ${upstream}: ${causeText(options)}`, options);
  }
}

/**
 * The TLS handshake with the upstream failed: its certificate is not trusted (ca_cert), does not carry the name
 * asked for (server_name, or the address), has expired, or the upstream does not speak TLS. `reason` is
 * node:tls's code (UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID, ERR_SSL_…). Answered as a
 * connect failure: the request never reached the upstream application.
 */
export class UpstreamTlsError extends ProxyError {
  readonly reason: string;
  constructor(readonly upstream: string, options?: { cause?: unknown }) {
    super("E_UPSTREAM_TLS", 503, `TLS handshake with upstream ${upstream} failed: ${causeText(options)}`, options);
    const code = (options?.cause as { code?: unknown } | undefined)?.code;
    this.reason = typeof code === "string" ? code : "unknown";
  }
}

/** The upstream closed or reset the connection before or while answering. */
export class UpstreamResetError extends ProxyError {
  constructor(readonly upstream: string, readonly headersSent: boolean, options?: { cause?: unknown }) {
    super(
      "E_UPSTREAM_RESET",
      headersSent ? 0 : 502,
      `upstream ${upstream} reset the connection ${headersSent ? "mid-response" : "before answering"}: ${causeText(options)}`,
      options,
    );
  }
}

/** One attempt took longer than the retry policy's per-try timeout. */
export class UpstreamTimeoutError extends ProxyError {
  constructor(readonly upstream: string, readonly timeoutMs: number, options?: { cause?: unknown }) {
    super("E_UPSTREAM_TIMEOUT", 504, `upstream ${upstream} did not answer within the per-try timeout of ${timeoutMs} ms`, options);
  }
}

/** The route's overall deadline passed (over every attempt, up to the end of the response). */
export class RouteTimeoutError extends ProxyError {
  constructor(readonly timeoutMs: number, readonly headersSent: boolean) {
    super("E_ROUTE_TIMEOUT", headersSent ? 0 : 504, `route timeout of ${timeoutMs} ms passed${headersSent ? " mid-response" : ""}`);
  }
}

/** The upstream answered something undici refused (bad headers, bad length) or the request could not be sent. */
export class UpstreamProtocolError extends ProxyError {
  constructor(readonly upstream: string, readonly headersSent: boolean, options?: { cause?: unknown }) {
    super("E_UPSTREAM_PROTOCOL", headersSent ? 0 : 502, `exchange with upstream ${upstream} failed: ${causeText(options)}`, options);
  }
}

/** The client went away before the response ended; the upstream request was aborted. */
export class ClientAbortedError extends ProxyError {
  constructor() {
    super("E_CLIENT_ABORTED", 0, "client closed the connection before the response ended");
  }
}

/** A pool was asked for after the registry was closed (the host is shutting down). */
export class PoolsClosedError extends ProxyError {
  constructor(readonly address: string) {
    super("E_POOLS_CLOSED", 503, `connection pools are closed; cannot reach ${address}`);
  }
}

function causeText(options: { cause?: unknown } | undefined): string {
  const cause = options?.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" ? `${code} ${cause.message}` : cause.message;
  }
  return cause === undefined ? "unknown cause" : String(cause);
}

/** The client's request cannot be forwarded as it is (a request target that is not a path). */
export class RequestInvalidError extends ProxyError {
  constructor(detail: string) {
    super("E_REQUEST_INVALID", 400, `request cannot be forwarded: ${detail}`);
  }
}

/** PoolRegistry options that cannot be used; `where` names the option. */
export class PoolOptionsError extends ProxyError {
  constructor(readonly where: string, detail: string) {
    super("E_POOL_OPTIONS_INVALID", 0, `${where}: ${detail}`);
  }
}

/**
 * The body of every answer the proxy gives of its own (no route, no host, a breaker open, an upstream that
 * failed: the pipeline's and the forwarder's alike), JSON with the code the access log names. What a plugin's
 * Reject or a direct_response route answers is theirs and is sent as given.
 */
export function errorAnswer(code: string, message: string): string {
  return `${JSON.stringify({ error: code, message })}\n`;
}

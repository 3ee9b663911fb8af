// One client request and its attempts upstream. The Exchange is itself the undici dispatch handler (the
// legacy onConnect/onHeaders/onData/onComplete/onError form, which undici runs unwrapped and which hands
// rawHeaders as Buffers), so a request costs one object, one header array and one dispatch-options object;
// listeners on the response are shared functions that find the exchange through a symbol.
//
// Retry rule (go-kit Retry: bounded attempts, one deadline, the balancer asked again per attempt):
//   - an attempt that cannot connect, is reset before any response byte, or passes its per-try timeout is
//     retried when retry.onConnectFailure is set; a response whose status is in retry.onStatuses is drained
//     (not sent) and retried when another host is left;
//   - never more than retry.attempts attempts, never after the route deadline;
//   - a gRPC answer that is Trailers-Only (grpc-status in its headers: no message was or will be sent) with a
//     code in retry.onGrpcStatuses is drained and retried the same way;
//   - a request with a body is retried only if no body byte was read from the client yet (the body is a
//     stream, not replayable): in practice connect failures, and answers given before the body was read. A
//     gRPC call on a route that retries gRPC codes keeps its body for a retry (replay-body.ts), up to a bound,
//     and is retried while all of it is kept.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { Host } from "../cluster/types.js";
import { type AccessLogger, clientOf, type ForwardOutcome, writeAccessLog } from "./access-log.js";
import {
  ClientAbortedError,
  errorAnswer,
  NoHostError,
  type ProxyError,
  RequestInvalidError,
  RouteTimeoutError,
  UpstreamConnectError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
  UpstreamTlsError,
} from "./errors.js";
import { buildRequestHeaders, buildResponseHeaders, HAS_BODY } from "./headers.js";
import type { Clock } from "../cluster/clock.js";
import { grpcStatusFor, isGrpc, writeGrpcError } from "./grpc.js";
import { hostFinished, hostRemoved, hostStarted } from "./host-tracking.js";
import type { ForwardListener, ForwardPolicy } from "./policy.js";
import type { PoolRegistry, UpstreamPool } from "./pools.js";
import { ReplayBody } from "./replay-body.js";
import { splitAbsoluteForm } from "../util/absolute-form.js";

/** What every exchange of one Forwarder shares. */
export interface ExchangeContext {
  readonly pools: PoolRegistry;
  readonly logger: AccessLogger;
  /** Durations only: the forwarder's timers are its own. */
  readonly clock: Clock;
}

const kExchange = Symbol("switchyard.exchange");
type TaggedResponse = ServerResponse & { [kExchange]?: Exchange };

const NO_HOSTS: ReadonlySet<Host> = new Set();

const enum Phase {
  /** No response byte sent to the client yet: a failure can still be answered with a status. */
  Waiting,
  /** Upstream headers were sent to the client: a failure can only cut the client connection. */
  Streaming,
  /** The outcome is decided and logged; late upstream callbacks only release the host. */
  Done,
}

const enum Failure {
  Connect,
  Tls,
  Reset,
  Timeout,
  Other,
}

// Errors that mean the request never reached an upstream application: safe to try another host.
const CONNECT_CODES = new Set([
  "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT",
]);
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
// node:tls's verification failures (OpenSSL's X509_V_ERR names) and its own handshake errors.
const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "CERT_REVOKED", "CERT_UNTRUSTED", "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE", "INVALID_CA", "INVALID_PURPOSE", "HOSTNAME_MISMATCH", "ERR_TLS_CERT_ALTNAME_INVALID", "EPROTO",
]);

function classify(err: Error): Failure {
  if (err instanceof UpstreamTimeoutError) return Failure.Timeout;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") return Failure.Other;
  if (CONNECT_CODES.has(code)) return Failure.Connect;
  if (TLS_CODES.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) return Failure.Tls;
  if (RESET_CODES.has(code)) return Failure.Reset;
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return Failure.Timeout;
  return Failure.Other;
}

// undici's HTTP/1 client (its parser's onHeadersComplete) destroys the
// connection on any 100 Continue with SocketError "bad response" before a handler sees it, and it has no option
// to keep it (it refuses an `expect` request header outright, so a 100 is never one it asked for). The final
// response that follows is lost with the socket, so the best answer left is a 502 that says why. The same
// error for a response with no request running never reaches an exchange. The llhttp client (host/proxy/h1/connection.ts, switchyard.upstream_client)
// drops a stray 100 instead and reads the final answer.
const STRAY_100 = "it sent a 100 Continue the request did not ask for (RFC 9110 §15.2.1), on which the upstream client (undici) closes the connection";

function isStray100(err: Error): boolean {
  return (err as { code?: unknown }).code === "UND_ERR_SOCKET" && err.message === "bad response";
}

/** A 204/304 whose head announced a body: undici reports the body it (rightly) did not read as a mismatch. */
function bodylessAnswered(status: number, err: Error): boolean {
  return (status === 204 || status === 304) && (err as { code?: unknown }).code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH";
}

function dropContentLength(pairs: string[]): void {
  for (let i = pairs.length - 2; i >= 0; i -= 2) {
    if (pairs[i]!.toLowerCase() === "content-length") pairs.splice(i, 2);
  }
}

function onResponseClose(this: TaggedResponse): void {
  this[kExchange]?.clientClosed();
}

function onResponseDrain(this: TaggedResponse): void {
  this[kExchange]?.clientDrained();
}

function onDeadline(exchange: Exchange): void {
  exchange.deadlinePassed();
}

function onTryDeadline(exchange: Exchange): void {
  exchange.tryDeadlinePassed();
}

/**
 * undici's trailers as the object addTrailers takes: raw pairs (name, value, …) over HTTP/1.1, node:http2's
 * headers object over HTTP/2 (undici's h2 client hands on the stream's 'trailers'); repeated names are joined.
 */
function trailerPairs(raw: readonly (Buffer | string)[] | Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(raw)) {
    for (const [name, value] of Object.entries(raw)) {
      if (value !== undefined && name.charCodeAt(0) !== 58 /* : */) out[name] = Array.isArray(value) ? value.join(", ") : String(value);
    }
    return out;
  }
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1").toLowerCase();
    const value = raw[i + 1]!.toString("latin1");
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}

/**
 * A gRPC server that fails a call at once answers Trailers-Only: grpc-status in the one HEADERS frame, with
 * END_STREAM. Passed on as headers, a client would not read them as the call's status (it expects them to end
 * the stream, which node:http2's compatibility API cannot do with the headers): they are taken out of the
 * headers here and sent as trailers when the call ends.
 */
function takeGrpcStatus(headers: string[]): Record<string, string> | null {
  let out: Record<string, string> | null = null;
  for (let i = 0; i < headers.length; ) {
    const name = headers[i]!.toLowerCase();
    if (name === "grpc-status" || name === "grpc-message" || name === "grpc-status-details-bin") {
      (out ??= {})[name] = headers[i + 1]!;
      headers.splice(i, 2);
    } else i += 2;
  }
  return out;
}

/**
 * Whether a gRPC answer is Trailers-Only (grpc-status in its headers, which gRPC sends there only when the
 * call ends without a message) with a code in `codes`.
 */
function retriableGrpcEnd(raw: readonly (Buffer | string)[], codes: ReadonlySet<number>): boolean {
  if (codes.size === 0) return false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 11 && name.toString().toLowerCase() === "grpc-status") return codes.has(Number(raw[i + 1]!.toString()));
  }
  return false;
}

/** Passes an upstream 103 on to the client (its hop-by-hop headers dropped), once, before the final answer. */
function forwardEarlyHints(res: ServerResponse, raw: readonly Buffer[]): void {
  if (res.headersSent || res.destroyed) return;
  const pairs: string[] = [];
  buildResponseHeaders(raw, pairs);
  const hints: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i]!.toLowerCase();
    const had = hints[name];
    hints[name] = had === undefined ? pairs[i + 1]! : [...(Array.isArray(had) ? had : [had]), pairs[i + 1]!];
  }
  // Node writes a 103 only with a Link header (and throws on one it refuses): a hint it cannot pass is dropped.
  if (hints["link"] === undefined) return;
  try {
    res.writeEarlyHints(hints);
  } catch {
    // A hint Node refuses to write is dropped; the final response is what matters.
  }
}

/** Turns "/a/b?x" into the path sent upstream; null when the request target is not a path. */
function upstreamPath(url: string, rewrite: ForwardPolicy["prefixRewrite"]): string | null {
  let path = url;
  if (path.charCodeAt(0) !== 47 /* / */) {
    // Absolute form ("GET http://host/p"), which a client may send to a proxy: keep the path.
    const abs = splitAbsoluteForm(path);
    if (abs === null) return null;
    path = abs.path;
  }
  if (rewrite !== null && path.startsWith(rewrite.prefix)) {
    path = rewrite.replacement + path.slice(rewrite.prefix.length);
    if (path.charCodeAt(0) !== 47) path = `/${path}`;
  }
  return path;
}

export class Exchange implements Dispatcher.DispatchHandler {
  private phase = Phase.Waiting;
  private attempts = 0;
  private failed: Set<Host> | null = null;
  private host: Host | null = null;
  /** Host picked for the next attempt while a retriable answer is drained. */
  private next: Host | null = null;
  private draining = false;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private listeningDrain = false;
  private timer: NodeJS.Timeout | null = null;
  /** Per-try timer, ours rather than undici's headersTimeout, which ticks in ~0.5 s steps. */
  private tryTimer: NodeJS.Timeout | null = null;
  private tryExpired: UpstreamTimeoutError | null = null;
  private status = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private error: ProxyError | null = null;
  private readonly started: number;
  private readonly opts: Dispatcher.DispatchOptions;
  private readonly hasBody: boolean;
  private readonly path: string | null;
  private readonly grpc: boolean;
  /** grpc-status / grpc-message an upstream sent in its headers (Trailers-Only): sent on as trailers at the end. */
  private grpcEnd: Record<string, string> | null = null;
  /** A gRPC call's body kept for a retry on a gRPC code (made at the first attempt); null: the body is `req`. */
  private replay: ReplayBody | null = null;
  private told = false;
  /** The client's address for the access log, taken while the socket is there. */
  private readonly client: string | null;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly policy: ForwardPolicy,
    private readonly listener: ForwardListener,
  ) {
    this.started = listener.startedAt ?? ctx.clock.now();
    const headers: string[] = [];
    const proto = (req.socket as { encrypted?: boolean }).encrypted === true ? "https" : "http";
    this.hasBody = (buildRequestHeaders(req.rawHeaders, req.socket.remoteAddress, proto, policy, headers) & HAS_BODY) !== 0;
    // Only when a line can be written (warn is the least a line needs): no string per request otherwise.
    this.client = ctx.logger.isLevelEnabled("warn") ? clientOf(req.socket) : null;
    this.grpc = isGrpc(req.headers["content-type"]);
    // TE is hop-by-hop, but "te: trailers" is how a gRPC call says it reads trailers; servers require it.
    if (this.grpc) headers.push("te", "trailers");
    this.path = upstreamPath(req.url ?? "/", policy.prefixRewrite);
    this.opts = {
      path: this.path ?? "/",
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: this.hasBody ? req : null,
    };
  }

  /** Starts the first attempt; the listener hears once the client got its answer or the reason it did not is logged. */
  run(): void {
    if (this.path === null) {
      this.fail(new RequestInvalidError(`request target ${JSON.stringify(this.req.url)} is not a path`));
      return;
    }
    const res = this.res as TaggedResponse;
    if (res.destroyed) {
      // The client left before routing finished: no 'close' is coming, and nobody to send to.
      this.phase = Phase.Done;
      this.finish(new ClientAbortedError());
      return;
    }
    res[kExchange] = this;
    res.on("close", onResponseClose);
    if (this.policy.timeoutMs > 0) {
      this.timer = setTimeout(onDeadline, this.policy.timeoutMs, this);
    }
    this.attempt(null);
  }

  // --- attempts -------------------------------------------------------------------------------------------

  /**
   * The balancer's pick, skipping hosts that left their cluster since the request took its snapshot (a retry
   * picks from that snapshot): their pools are draining to close (host/server/host.ts), so no new attempt goes
   * to them; they count as failed for this request.
   */
  private pickLive(): Host | null {
    let host = this.listener.pick(this.failed ?? NO_HOSTS);
    while (host !== null && hostRemoved(host)) {
      this.markFailed(host);
      host = this.listener.pick(this.failed!);
    }
    return host;
  }

  private attempt(preselected: Host | null): void {
    const host = preselected !== null && !hostRemoved(preselected) ? preselected : this.pickLive();
    if (host === null) {
      this.fail(this.error ?? new NoHostError(this.attempts));
      return;
    }
    let pool: UpstreamPool;
    try {
      pool = this.ctx.pools.get(host, this.policy.connectTimeoutMs, this.policy.transport);
    } catch (err) {
      this.fail(err as ProxyError);
      return;
    }
    if (this.grpc && this.hasBody && this.policy.retry.attempts > 1 && this.policy.retry.onGrpcStatuses.size > 0) {
      this.replay ??= new ReplayBody(this.req);
      this.opts.body = this.replay.attempt();
    }
    this.attempts++;
    this.host = host;
    this.draining = false;
    this.next = null;
    this.abortUpstream = null;
    this.resumeUpstream = null;
    this.tryExpired = null;
    hostStarted(host);
    const perTry = this.policy.retry.perTryTimeoutMs;
    if (perTry !== null) this.tryTimer = setTimeout(onTryDeadline, perTry, this);
    pool.dispatch(this.opts, this);
  }

  /** Whether one more attempt is allowed (the deadline is checked by the timer, which ends the exchange). */
  private canRetry(): boolean {
    if (this.attempts >= this.policy.retry.attempts) return false;
    if (!this.hasBody) return true;
    if (this.replay !== null) return this.replay.replayable;
    return !this.req.readableDidRead && !this.req.destroyed;
  }

  private markFailed(host: Host): void {
    (this.failed ??= new Set()).add(host);
  }

  // --- undici handler ----------------------------------------------------------------------------------

  onConnect(abort: (err?: Error) => void): void {
    if (this.phase === Phase.Done) {
      // The deadline passed or the client left while this attempt waited for a connection.
      abort(this.error ?? undefined);
      return;
    }
    if (this.tryExpired !== null) {
      abort(this.tryExpired);
      return;
    }
    this.abortUpstream = abort;
  }

  onBodySent(chunk: unknown): void {
    this.bytesIn += (chunk as Buffer).length;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.phase === Phase.Done) return false;
    // An interim 1xx (RFC 9110 §15.2) is not the answer: 103 Early Hints is passed on as an interim answer of
    // our own, any other is dropped, and the final response still follows. No client passes a 100 on (STRAY_100).
    if (statusCode < 200) {
      if (statusCode === 103 && !this.draining) forwardEarlyHints(this.res, rawHeaders);
      return true;
    }
    this.clearTryTimer();
    const host = this.host!;
    const retry = this.policy.retry;
    if ((retry.onStatuses.has(statusCode) || (this.grpc && retriableGrpcEnd(rawHeaders, retry.onGrpcStatuses))) && this.canRetry()) {
      this.markFailed(host);
      const next = this.pickLive();
      if (next !== null) {
        // Drain this answer to completion so that its connection stays reusable, then try `next`.
        this.draining = true;
        this.next = next;
        return true;
      }
    }
    this.resumeUpstream = resume;
    const headers: string[] = [];
    buildResponseHeaders(rawHeaders, headers);
    // RFC 9110 §8.6: a 204 carries no content-length; one from the upstream would announce a body that is not coming.
    if (statusCode === 204) dropContentLength(headers);
    if (this.grpc) this.grpcEnd = takeGrpcStatus(headers);
    // Throws on a header Node refuses; undici then aborts the attempt and onError, still Waiting, answers 502.
    this.res.writeHead(statusCode, headers);
    this.status = statusCode;
    this.phase = Phase.Streaming;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.draining) return true;
    if (this.phase !== Phase.Streaming) return false;
    this.bytesOut += chunk.length;
    if (this.res.write(chunk)) return true;
    // Backpressure: undici stops reading the upstream socket until the client drains.
    if (!this.listeningDrain) {
      this.listeningDrain = true;
      this.res.on("drain", onResponseDrain);
    }
    return false;
  }

  onComplete(trailers?: Buffer[] | string[] | Record<string, string | string[] | undefined> | null): void {
    this.clearTryTimer();
    hostFinished(this.host!);
    if (this.phase === Phase.Done) return;
    if (this.draining) {
      this.attempt(this.next);
      return;
    }
    this.phase = Phase.Done;
    // Trailers (gRPC's grpc-status) go on to the client: HTTP/2 sends them as trailing HEADERS, HTTP/1.1 chunked.
    if (trailers != null && (Array.isArray(trailers) ? trailers.length > 0 : true)) this.res.addTrailers(this.grpcEnd === null ? trailerPairs(trailers) : { ...this.grpcEnd, ...trailerPairs(trailers) });
    else if (this.grpcEnd !== null) this.res.addTrailers(this.grpcEnd);
    this.res.end();
    this.finish(null);
  }

  onError(err: Error): void {
    this.clearTryTimer();
    const host = this.host;
    if (host !== null) hostFinished(host);
    if (this.phase === Phase.Done) return;
    const address = host?.address ?? "(none)";
    if (this.phase === Phase.Streaming) {
      if (bodylessAnswered(this.status, err)) {
        // A 204 or 304 has no body (RFC 9112 §6.3), whatever its content-length says: the client has its whole
        // answer. undici counted the missing bytes as a mismatch and destroyed that connection, so the bytes an
        // upstream sent after the head never reach the next request on it.
        this.phase = Phase.Done;
        this.res.end();
        this.finish(null);
        return;
      }
      const kind = classify(err);
      this.fail(
        kind === Failure.Reset
          ? new UpstreamResetError(address, true, { cause: err })
          : new UpstreamProtocolError(address, true, { cause: err }),
      );
      return;
    }
    if (!this.draining && isStray100(err)) {
      // Not a reset: the upstream got the request and answered it wrongly, so it is not retried elsewhere.
      this.fail(new UpstreamProtocolError(address, false, { cause: new Error(STRAY_100, { cause: err }) }));
      return;
    }
    const kind = this.draining ? Failure.Reset : classify(err);
    let error: ProxyError;
    switch (kind) {
      case Failure.Connect:
        error = new UpstreamConnectError(address, { cause: err });
        break;
      case Failure.Tls:
        error = new UpstreamTlsError(address, { cause: err });
        break;
      case Failure.Reset:
        error = new UpstreamResetError(address, false, { cause: err });
        break;
      case Failure.Timeout:
        error = err instanceof UpstreamTimeoutError ? err : new UpstreamTimeoutError(address, this.policy.retry.perTryTimeoutMs ?? 0, { cause: err });
        break;
      default:
        this.fail(new UpstreamProtocolError(address, false, { cause: err }));
        return;
    }
    this.error = error;
    if ((this.draining || this.policy.retry.onConnectFailure) && this.canRetry()) {
      if (host !== null) this.markFailed(host);
      this.attempt(this.next);
      return;
    }
    this.fail(error);
  }

  // --- client side -------------------------------------------------------------------------------------

  clientDrained(): void {
    const resume = this.resumeUpstream;
    if (resume !== null && this.phase === Phase.Streaming) resume();
  }

  clientClosed(): void {
    if (this.phase === Phase.Done) return;
    // 'close' before we ended the response: the client went away.
    this.error = new ClientAbortedError();
    this.phase = Phase.Done;
    this.abortUpstream?.(this.error);
    this.finish(this.error);
  }

  deadlinePassed(): void {
    this.timer = null;
    if (this.phase === Phase.Done) return;
    const error = new RouteTimeoutError(this.policy.timeoutMs, this.phase === Phase.Streaming);
    // Answer first: undici reports the abort synchronously through onError, which must find us Done.
    this.fail(error);
    this.abortUpstream?.(error);
  }

  tryDeadlinePassed(): void {
    this.tryTimer = null;
    if (this.phase === Phase.Done) return;
    this.tryExpired = new UpstreamTimeoutError(this.host?.address ?? "(none)", this.policy.retry.perTryTimeoutMs ?? 0);
    // Not connected yet: onConnect aborts the attempt when the pool gets to it.
    this.abortUpstream?.(this.tryExpired);
  }

  private clearTryTimer(): void {
    if (this.tryTimer !== null) {
      clearTimeout(this.tryTimer);
      this.tryTimer = null;
    }
  }

  // --- ending ------------------------------------------------------------------------------------------

  /** Ends the exchange with `error`: an error status if nothing was sent yet, else a cut connection. */
  private fail(error: ProxyError): void {
    if (this.phase === Phase.Done) return;
    this.phase = Phase.Done;
    const res = this.res;
    if (this.grpc && !res.destroyed) {
      // A gRPC call ends in a gRPC status, also after its headers were sent (as trailers), never a cut stream.
      const status = grpcStatusFor(error.status === 0 && error.code === "E_ROUTE_TIMEOUT" ? 504 : error.status || 502, error.code);
      this.status = 200;
      writeGrpcError(res, status, error.message);
    } else if (error.status !== 0 && !res.headersSent && !res.destroyed) {
      const body = errorAnswer(error.code, error.message);
      this.status = error.status;
      res.writeHead(error.status, ["content-type", "application/json", "content-length", String(Buffer.byteLength(body))]);
      res.end(body);
    } else {
      // Headers already left: truncating silently would let the client take a partial body for a whole one.
      res.destroy();
      this.status = 0;
    }
    this.finish(error);
  }

  private finish(error: ProxyError | null): void {
    this.clearTryTimer();
    this.replay?.release();
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.error = error;
    const ended = this.ctx.clock.now();
    const outcome: ForwardOutcome = {
      status: this.status,
      upstream: this.host?.address ?? null,
      attempts: this.attempts,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      durationMs: ended - this.started,
      endedAt: ended,
      error,
    };
    writeAccessLog(this.ctx.logger, this.req, this.client, outcome, this.listener);
    if (this.told) return;
    this.told = true;
    this.listener.done(outcome);
  }
}

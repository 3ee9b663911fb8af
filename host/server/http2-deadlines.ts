// The listener's timeouts (host/config/listener-limits.ts) on an HTTP/2 connection, where node:http2 has none
// of node:http's: node:http applies header_timeout, request_timeout and idle_timeout per connection, and an
// HTTP/2 connection carries many requests at once, so here they are per stream and per session (issue 15):
// - header_timeout: a connection must open its first stream (a complete header block) within it;
// - request_timeout: each stream's request, body included, must have arrived within it of the stream's start,
//   else 408 (or RST_STREAM CANCEL once the answer has started) — the stream ends, the connection stays;
// - idle_timeout: a connection with no stream open for this long is closed gracefully (GOAWAY). Frames without a
//   stream, such as PINGs, do not keep it open: a client that only pings is idle, as nginx counts it.

import { constants, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { Clock, TimerHandle } from "../cluster/clock.js";
import type { ListenerLimits } from "../config/listener-limits.js";
import type { ListenerClose } from "./listener-guard.js";

/** `clock`: the host's (host/cluster/clock.ts), so that tests move these deadlines by hand. */
export function guardHttp2Session(session: ServerHttp2Session, limits: ListenerLimits, closed: (reason: ListenerClose) => void, clock: Clock): void {
  let open = 0;
  let timer: TimerHandle | null = clock.setTimeout(() => {
    closed("header_timeout");
    session.destroy();
  }, limits.headerTimeoutMs);
  const clear = () => {
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
  };
  const idle = () => {
    clear();
    timer = clock.setTimeout(() => {
      closed("idle_timeout");
      session.close();
    }, limits.idleTimeoutMs);
  };
  session.on("stream", (stream: ServerHttp2Stream) => {
    open++;
    clear();
    const deadline = limits.requestTimeoutMs > 0 ? requestDeadline(stream, limits.requestTimeoutMs, closed, clock) : null;
    stream.once("close", () => {
      if (deadline !== null) clock.clearTimeout(deadline);
      if (--open === 0 && !session.closed && !session.destroyed) idle();
    });
  });
  session.once("close", clear);
}

function requestDeadline(stream: ServerHttp2Stream, ms: number, closed: (reason: ListenerClose) => void, clock: Clock): TimerHandle | null {
  // A request without a body is complete with its headers.
  if (stream.endAfterHeaders) return null;
  const timer = clock.setTimeout(() => {
    closed("request_timeout");
    if (!stream.headersSent) stream.respond({ ":status": 408, "content-length": "0" }, { endStream: true });
    stream.close(constants.NGHTTP2_CANCEL);
  }, ms);
  // The whole body has arrived: the request is complete, however long the answer takes.
  stream.once("end", () => clock.clearTimeout(timer));
  return timer;
}

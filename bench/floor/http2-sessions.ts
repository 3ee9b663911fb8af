// The HTTP/2 → HTTP/2 floor: node:http2 in front (h2c by prior knowledge, the stream API) and one node:http2
// client session per h2c upstream, round robin, each request a stream of that session, the answer piped back
// with its status and headers. What h2 on both sides costs on Node at least, which Switchyard's h2c → h2c path
// is measured against.
//
// node dist/bench/floor/http2-sessions.js <listen port> <upstream port>...

import { connect, constants, createServer, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { HOP_BY_HOP, parseFloorArgs } from "./common.js";

const { port, upstreams } = parseFloorArgs(process.argv.slice(2));
/** A session to upstream `i`; replaced once the upstream ends it (a GOAWAY, a reset), on its next use. */
function session(i: number): ClientHttp2Session {
  const s = connect(upstreams[i]!);
  s.on("error", () => undefined);
  s.once("goaway", () => { if (sessions[i] === s) sessions[i] = session(i); });
  return s;
}
const sessions: ClientHttp2Session[] = upstreams.map((_, i) => session(i));
let next = 0;

/** Headers to send on: pseudo-headers are the stream's own, hop-by-hop ones are not allowed in HTTP/2. */
function passOn(h: IncomingHttpHeaders, keep: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && (keep.includes(k) || (k[0] !== ":" && !HOP_BY_HOP.has(k)))) out[k] = v;
  return out;
}

createServer({ peerMaxConcurrentStreams: 1000 }).on("stream", (stream, headers) => {
  const i = next;
  next = (next + 1) % sessions.length;
  const h = passOn(headers, [":method", ":path", ":authority", ":scheme"]);
  let up: ClientHttp2Stream;
  try {
    up = sessions[i]!.request(h, { endStream: stream.endAfterHeaders });
  } catch {
    // The upstream is ending that session (GOAWAY not yet seen here): a new one takes the stream.
    sessions[i] = session(i);
    up = sessions[i]!.request(h, { endStream: stream.endAfterHeaders });
  }
  if (!stream.endAfterHeaders) stream.pipe(up);
  up.on("response", (h) => {
    // The client may have reset its stream meanwhile (h2load cancels what is open when its time is up).
    if (stream.destroyed || stream.closed) return void up.close(constants.NGHTTP2_CANCEL);
    stream.respond(passOn(h, [":status"]));
    up.pipe(stream);
  });
  up.on("error", () => {
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) stream.respond({ ":status": 502 }, { endStream: true });
    else stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  });
  stream.on("error", () => up.close(constants.NGHTTP2_CANCEL));
}).listen(port, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));

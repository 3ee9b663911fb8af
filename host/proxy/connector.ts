// How a pool's new connections are opened (host/proxy/pools.ts). undici's own connector offers ALPN
// "http/1.1" and "h2" whenever HTTP/2 is allowed (undici's buildConnector), which is right for
// upstream_protocol Auto but not for a cluster that asks for HTTP/2: there the handshake offers only "h2", so the
// connection is sure to be HTTP/2 and its pool can multiplex requests on it as an h2c pool does. An upstream that
// does not agree to h2 fails the handshake, answered as any TLS failure (E_UPSTREAM_TLS, host/proxy/exchange.ts).

import { isIP } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { buildConnector, errors } from "undici";
import type { UpstreamH2, UpstreamTlsOptions, UpstreamTlsSource } from "./transport.js";

/** What undici's keep-alive sockets get (its buildConnector's setKeepAlive). */
const KEEP_ALIVE_DELAY_MS = 60_000;

/**
 * The connector of a pool over TLS (or h2c) for `h2`. Each new connection uses the source's options of the moment:
 * when they were replaced (their files changed), the next connection gets a connector built with the new ones.
 */
export function connectorFor(source: UpstreamTlsSource | null, h2: UpstreamH2, timeoutMs: number): buildConnector.connector {
  let version = -1;
  let current: buildConnector.connector | null = null;
  return (options, callback) => {
    if (current === null || (source !== null && source.version !== version)) {
      version = source?.version ?? 0;
      current = build(source?.options ?? null, h2, timeoutMs);
    }
    return current(options, callback);
  };
}

/** undici's own connector, except where only h2 is offered. */
function build(tls: UpstreamTlsOptions | null, h2: UpstreamH2, timeoutMs: number): buildConnector.connector {
  if (tls !== null && h2 === "h2") return h2OnlyConnector(tls, timeoutMs);
  return buildConnector({ ...tls, timeout: timeoutMs, ...(h2 !== "none" ? { allowH2: true } : {}), ...(h2 === "h2c" ? { useH2c: true } : {}) });
}

/** TLS offering ALPN "h2" alone; a handshake that does not settle on h2 is a connect failure. */
function h2OnlyConnector(tls: UpstreamTlsOptions, timeoutMs: number): buildConnector.connector {
  return ({ hostname, port, servername }, callback) => {
    // undici hands IPv6 addresses without their brackets; SNI carries names only (RFC 6066 §3).
    const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
    const sni = servername || tls.servername || (isIP(host) === 0 ? host : undefined);
    const socket: TLSSocket = tlsConnect({ ...tls, host, port: Number(port) || 443, ...(sni ? { servername: sni } : {}), ALPNProtocols: ["h2"] });
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err === null) callback(null, socket);
      else {
        socket.destroy();
        callback(err, null);
      }
    };
    const timer = setTimeout(() => finish(new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${host}:${port}, timeout: ${timeoutMs}ms)`)), timeoutMs);
    socket.setNoDelay(true).setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    socket.once("secureConnect", () => {
      if (socket.alpnProtocol === "h2") finish(null);
      else finish(Object.assign(new Error(`the upstream did not agree to h2 by ALPN (it chose ${socket.alpnProtocol || "none"}); the cluster asks for HTTP/2 (http2_protocol_options or upstream_protocol Http2) and offers only h2 — upstream_protocol Auto also takes HTTP/1.1`), { code: "ERR_TLS_ALPN_NOT_H2" }));
    });
    socket.on("error", (err) => finish(err));
  };
}

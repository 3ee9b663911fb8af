// A front server and a raw client for tests: the front is a plain node:http server with the handler a test
// gives (the forwarder, a router…); the client is node:http with a fresh agent, so that a test sees exactly
// what went over the wire, hop-by-hop headers and connection closes included.

import { once } from "node:events";
import http, { type IncomingHttpHeaders, type RequestListener } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { LISTENER_LIMIT_DEFAULTS } from "../../host/config/listener-limits.js";
import { Http1Codec } from "../../host/server/http1/server.js";
import { TEST_HTTP1_CODEC } from "./codec.js";
import type { Readable } from "node:stream";

export interface FrontServer {
  readonly server: http.Server | NetServer;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A front on 127.0.0.1: the llhttp codec (host/server/http1/), as a listener has by default, or node:http when
 * the vitest project runs the file for it (SWITCHYARD_TEST_HTTP1_CODEC, vitest.config.ts), with the default
 * listener limits.
 */
export async function startFront(listener: RequestListener): Promise<FrontServer> {
  let server: http.Server | NetServer;
  if (TEST_HTTP1_CODEC === "llhttp") {
    const codec = new Http1Codec({ limits: LISTENER_LIMIT_DEFAULTS, handler: listener, closed: () => undefined });
    server = createNetServer({ allowHalfOpen: true }, (s) => codec.connection(s));
    server.once("close", () => codec.close());
  } else server = http.createServer(listener);
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ClientResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** The response ended normally (false: the connection was cut mid-body). */
  readonly complete: boolean;
}

export interface ClientRequest {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders | readonly string[];
  body?: string | Buffer | Readable;
  /** Give up after this long (the test fails with a clear message rather than hanging). */
  timeoutMs?: number;
}

/** Sends one request on its own connection and reads the whole answer; resolves even when the body is cut. */
export function send(baseUrl: string, r: ClientRequest = {}): Promise<ClientResponse> {
  const timeoutMs = r.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const base = new URL(baseUrl);
    // host/port/path rather than one URL: tests send request targets a URL cannot hold ("*", absolute form).
    const req = http.request({
      host: base.hostname,
      port: base.port,
      path: r.path ?? "/",
      method: r.method ?? "GET",
      headers: r.headers as http.OutgoingHttpHeaders,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no complete answer within ${timeoutMs} ms for ${r.method ?? "GET"} ${r.path ?? "/"}`));
    }, timeoutMs);
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      const done = (complete: boolean) => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks), complete });
      };
      res.on("end", () => done(true));
      res.on("error", () => done(false));
      res.on("aborted", () => done(false));
      res.on("close", () => done(res.complete));
    });
    const body = r.body;
    if (body === undefined) req.end();
    else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

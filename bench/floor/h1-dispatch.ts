// The Pool.dispatch() floor (undici-dispatch.ts) with the upstream client of host/proxy/h1/ (Node's llhttp on
// node:net, switchyard.upstream_client "llhttp") instead of undici's Pool: the same node:http server, handler and
// limits (128 connections, no pipelining, long keep-alive), so that the two floors differ only in the client.
//
// node dist/bench/floor/h1-dispatch.js <listen port> <upstream port>...

import { createServer } from "node:http";
import type { Pool } from "undici";
import { H1Pool } from "../../host/proxy/h1/pool.js";
import { parseFloorArgs } from "./common.js";
import { dispatcher } from "./forward.js";

const { port, upstreams } = parseFloorArgs(process.argv.slice(2));
const pools = upstreams.map((origin) => new H1Pool(origin, new URL(origin).host, {
  connections: 128,
  connectTimeoutMs: 3_000,
  keepAliveTimeoutMs: 300_000,
  headersTimeoutMs: 300_000,
  bodyTimeoutMs: 300_000,
  tls: null,
}));
// forward.ts calls dispatch() only, the surface both pools share.
const forward = dispatcher(pools as unknown as Pool[]);

createServer({ keepAliveTimeout: 300_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
  forward(req, res, req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined);
}).listen(port, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));

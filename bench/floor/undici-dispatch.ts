// The hand-written floor, lowest level: node:http in front, one undici Pool per upstream, round robin, and
// `Pool.dispatch()` streaming the answer back with backpressure (forward.ts). No routing, no plugins, no
// retries, no logs: what a proxy on Node costs at least, which Switchyard with its chain is measured against.
//
// node dist/bench/floor/undici-dispatch.js <listen port> <upstream port>...

import { createServer } from "node:http";
import { makePools, parseFloorArgs } from "./common.js";
import { dispatcher } from "./forward.js";

const { port, upstreams } = parseFloorArgs(process.argv.slice(2));
const forward = dispatcher(makePools(upstreams));

createServer({ keepAliveTimeout: 300_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
  forward(req, res, req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined);
}).listen(port, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));

// The HTTP/2 → HTTP/1.1 floor: node:http2 in front (h2c by prior knowledge, its compatibility API), then the
// same Pool.dispatch() path as the HTTP/1.1 floor (forward.ts) to HTTP/1.1 upstreams. What an h2 front on
// Node costs at least, which Switchyard's h2c → HTTP/1.1 path is measured against.
//
// node dist/bench/floor/http2-dispatch.js <listen port> <upstream port>...

import { createServer } from "node:http2";
import { makePools, parseFloorArgs } from "./common.js";
import { dispatcher } from "./forward.js";

const { port, upstreams } = parseFloorArgs(process.argv.slice(2));
const forward = dispatcher(makePools(upstreams));

createServer({ peerMaxConcurrentStreams: 1000 }, (req, res) => forward(req, res, !req.stream.endAfterHeaders)).listen(port, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));

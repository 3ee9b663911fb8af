// The hand-written floor with undici's promise API: node:http in front, one undici Pool per upstream, round
// robin, `Pool.request()` and the answer's body piped to the ServerResponse. No routing, no plugins.
//
// node dist/bench/floor/undici-request.js <listen port> <upstream port>...

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import { HOP_BY_HOP, makePools, parseFloorArgs } from "./common.js";

const { port, upstreams } = parseFloorArgs(process.argv.slice(2));
const pools = makePools(upstreams);
let next = 0;

async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
  const hasBody = req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
  const pool = pools[next]!;
  next = (next + 1) % pools.length;
  try {
    const up = await pool.request({ path: req.url ?? "/", method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null });
    const out: string[] = [];
    for (const [name, value] of Object.entries(up.headers)) {
      if (HOP_BY_HOP.has(name) || value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) out.push(name, v);
      else out.push(name, value);
    }
    res.writeHead(up.statusCode, out);
    up.body.pipe(res);
  } catch {
    if (!res.headersSent) res.writeHead(502, { "content-length": 0 });
    res.end();
  }
}

createServer({ keepAliveTimeout: 300_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
  void forward(req, res);
}).listen(port, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));

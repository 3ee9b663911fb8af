// The hand-written floor, lowest level: node:http in front, one undici Pool per upstream, round robin, and
// `Pool.dispatch()` with a legacy handler object (onConnect/onHeaders/onData/onComplete/onError) that
// streams the answer into the ServerResponse with backpressure. No routing, no plugins, no retries, no
// logs: what a proxy on Node costs at least, which Switchyard with its chain is measured against.
//
// node dist/bench/floor/undici-dispatch.js <listen port> <upstream port>...

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import { HOP_BY_HOP, makePools, parseFloorArgs } from "./common.js";

const { port, upstreams } = parseFloorArgs(process.argv.slice(2));
const pools = makePools(upstreams);
let next = 0;

class Forward implements Dispatcher.DispatchHandler {
  private resume: (() => void) | null = null;
  private abort: ((err?: Error) => void) | null = null;
  private started = false;

  constructor(private readonly res: ServerResponse) {
    res.on("drain", () => this.resume?.());
    res.on("close", () => { if (!res.writableFinished) this.abort?.(); });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.resume = resume;
    const headers: string[] = [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString("latin1");
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, rawHeaders[i + 1]!.toString("latin1"));
    }
    this.res.writeHead(statusCode, headers);
    this.started = true;
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  onComplete(): void {
    this.res.end();
  }

  onError(): void {
    if (!this.started) {
      this.res.writeHead(502, { "content-length": 0 });
      this.res.end();
    } else {
      this.res.destroy();
    }
  }
}

createServer({ keepAliveTimeout: 300_000, requestTimeout: 0, headersTimeout: 60_000 }, (req: IncomingMessage, res: ServerResponse) => {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
  const hasBody = req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
  const pool = pools[next]!;
  next = (next + 1) % pools.length;
  pool.dispatch({ path: req.url ?? "/", method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null }, new Forward(res));
}).listen(port, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));

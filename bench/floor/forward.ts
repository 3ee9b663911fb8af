// The Pool.dispatch() floors' one request path: the request's headers without hop-by-hop and HTTP/2
// pseudo-headers, round robin over the pools, and a legacy dispatch handler (onConnect/onHeaders/onData/
// onComplete/onError) that streams the answer into the response with backpressure. node:http's
// ServerResponse and node:http2's compatibility Http2ServerResponse both take it, so the HTTP/1.1 floor
// (undici-dispatch.ts) and the HTTP/2 one (http2-dispatch.ts) differ only in the server in front.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Dispatcher, Pool } from "undici";
import { HOP_BY_HOP } from "./common.js";

type Response = ServerResponse | Http2ServerResponse;

class Forward implements Dispatcher.DispatchHandler {
  private resume: (() => void) | null = null;
  private abort: ((err?: Error) => void) | null = null;
  private started = false;

  constructor(private readonly res: Response) {
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
    // A flat [name, value, …] list, as node:http takes it (repeated names kept); node:http2's compatibility
    // writeHead takes it too, though its types say objects only.
    (this.res as ServerResponse).writeHead(statusCode, headers);
    this.started = true;
    return true;
  }

  onData(chunk: Buffer): boolean {
    // Both responses' write(chunk) returns false when the client is slow; TypeScript cannot call the union.
    return (this.res as ServerResponse).write(chunk);
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

/** Round robin over `pools`: each call forwards one request to the next pool. */
export function dispatcher(pools: readonly Pool[]): (req: IncomingMessage | Http2ServerRequest, res: Response, hasBody: boolean) => void {
  let next = 0;
  return (req, res, hasBody) => {
    const raw = req.rawHeaders;
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) !== 58 /* ":" */ && !HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, raw[i + 1]!);
    }
    const pool = pools[next]!;
    next = (next + 1) % pools.length;
    pool.dispatch({ path: req.url ?? "/", method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null }, new Forward(res));
  };
}

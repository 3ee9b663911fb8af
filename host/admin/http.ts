// Small HTTP helpers of the admin API: bounded body reading and JSON / text answers with reasons.

import type { IncomingMessage, ServerResponse } from "node:http";

export class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads a request body up to `limit` bytes; over it, the request is answered 413 without reading on. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      reject(new BodyError(413, `body of ${declared} bytes is larger than the limit of ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        // Stop reading, but keep the socket: the caller answers 413 (with Connection: close). Destroying the
        // request here would lose that answer.
        req.off("data", onData);
        req.pause();
        chunks.length = 0;
        reject(new BodyError(413, `body is larger than the limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", (err) => reject(new BodyError(400, `body could not be read: ${err.message}`)));
  });
}

/** Decodes a body as UTF-8 text, refusing bytes that are not valid UTF-8. */
export function utf8(body: Buffer, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw new BodyError(400, `${what} is not valid UTF-8`);
  }
}

export function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value, null, 2) + "\n";
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function problem(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  json(res, status, { error: { code, message, ...extra } });
}

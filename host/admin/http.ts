// Small HTTP helpers of the admin API: bounded body reading, JSON bodies bounded in depth, JSON answers and
// the one error shape, {"error": {"code", "message", …}}.

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

/** Deepest nesting of arrays and objects an admin JSON body may have: far more than any real body needs. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses a JSON body after checking, in one pass over the text, that it nests at most MAX_JSON_DEPTH deep:
 * code that walks a parsed value recursively (String() of an array, JSON.stringify) would otherwise overflow
 * the stack on a deeply nested body and answer "Maximum call stack size exceeded".
 */
export function parseJsonBody(text: string, what: string): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > MAX_JSON_DEPTH) throw new BodyError(400, `${what} nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BodyError(400, `${what} is not JSON: ${(err as Error).message}`);
  }
}

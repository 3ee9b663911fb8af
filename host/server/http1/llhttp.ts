// The HTTP/1.1 parser of the llhttp codec (issue 19): Node's own llhttp binding, the very parser node:http runs
// (node:_http_common's HTTPParser, the C++ build of llhttp linked into Node: process.versions.llhttp). It is
// reached through `_http_common`, which node:http's client and server load too, because
// process.binding('http_parser') prints DEP0111 on every start. undici's WebAssembly build of llhttp (the one
// its HTTP/1 client parses with) was the other candidate: parsing one 150-byte request head cost it
// 3.6–5.6 µs of CPU against 1.5–1.9 µs for the native binding (docs/performance.md "The HTTP/1.1 codec"), and
// it is a second copy of the parser whose version moves with undici's rather than with Node's.
//
// Pinned: LLHTTP_VERSION is the llhttp this codec was checked against (the differential fuzz,
// test/http1-differential.test.ts, which also fails when Node ships another one, so that a Node upgrade is
// fuzzed again before it serves).

import { METHODS as httpMethods } from "node:http";
import { createRequire } from "node:module";

export const LLHTTP_VERSION = "9.3.1";

/** The native parser's interface, as node:http's own code calls it (not in Node's public types). */
export interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes parsed, or an Error with `code` (HPE_*), `reason` and `bytesParsed`. */
  execute(data: Buffer): number | ParseError;
  finish(): number | ParseError | undefined;
  close(): void;
  [key: number]: unknown;
}

export interface ParseError extends Error {
  readonly code: string;
  readonly reason?: string;
  readonly bytesParsed?: number;
}

interface NativeParserClass {
  new (): NativeParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kLenientNone: number;
  readonly kLenientAll: number;
}

const common = createRequire(import.meta.url)("_http_common") as { HTTPParser: NativeParserClass; isLenient(): boolean };

export const HTTPParser: NativeParserClass = common.HTTPParser;

/**
 * The method names by the number llhttp gives them (node:http indexes its binding's allMethods with it, a table
 * _http_common does not export): found once by parsing a request line of every method node:http knows, and
 * PRI, the start of the HTTP/2 preface.
 */
export const METHODS: readonly string[] = methodTable();

function methodTable(): string[] {
  const table: string[] = [];
  const probe = new HTTPParser();
  for (const name of [...httpMethods, "PRI"]) {
    let seen = -1;
    probe.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
    probe[HTTPParser.kOnMessageBegin] = noop;
    probe[HTTPParser.kOnHeaders] = noop;
    probe[HTTPParser.kOnBody] = noop;
    probe[HTTPParser.kOnMessageComplete] = noop;
    probe[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, _h: string[], method: number) => {
      seen = method;
      return 1;
    };
    probe.execute(Buffer.from(name === "PRI" ? "PRI * HTTP/2.0\r\n\r\n" : `${name} / HTTP/1.1\r\n\r\n`, "latin1"));
    if (seen >= 0) table[seen] = name;
  }
  probe.close();
  return table;
}

function noop(): void {}

/** Whether node:http would parse leniently here (--insecure-http-parser): the codec then does the same. */
export function lenientFlags(): number {
  return common.isLenient() ? HTTPParser.kLenientAll : HTTPParser.kLenientNone;
}

/** A parse error as a parser error code, never a stack. */
export function isParseError(r: unknown): r is ParseError {
  return r instanceof Error;
}

// Request byte strings for the differential fuzz of the HTTP/1.1 codec (issue 19, test/http1-differential.test.ts):
// valid, borderline and hostile heads and bodies — every request-smuggling shape the hostile-input issue
// (issue 18) probed: CL/TE conflicts and variants, obs-fold, bad chunks, control bytes, size limits,
// pipelining — and random mutations of them drawn from an injected seeded source.
import type { RandomSource } from "../../host/cluster/types.js";

const H = "Host: a.test\r\n";

/** The corpus the mutations start from; each is a whole byte string a client could send on a connection. */
export const BASE_CASES: readonly string[] = [
  // valid
  `GET / HTTP/1.1\r\n${H}\r\n`,
  `GET /a/b?x=1&y=%20 HTTP/1.1\r\n${H}User-Agent: fuzz\r\nAccept: */*\r\nx-zone: a\r\n\r\n`,
  `HEAD /h HTTP/1.1\r\n${H}\r\n`,
  `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
  `POST /p HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
  `POST /p HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
  `PUT /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
  `POST /t HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-trailer: 1\r\ngrpc-status: 0\r\n\r\n`,
  `POST /e HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;name=value;flag\r\nabc\r\n0\r\n\r\n`,
  `GET /10 HTTP/1.0\r\n\r\n`,
  `GET /10k HTTP/1.0\r\nConnection: keep-alive\r\n${H}\r\n`,
  `GET /close HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  `GET http://b.test/abs?q HTTP/1.1\r\nHost: a.test\r\n\r\n`,
  `POST /x HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc`,
  `POST /x HTTP/1.1\r\n${H}Expect: something-else\r\nContent-Length: 3\r\n\r\nabc`,
  `GET /u HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
  `GET /cookie HTTP/1.1\r\n${H}Cookie: a=1\r\nCookie: b=2\r\nSet-Cookie: s=1\r\nSet-Cookie: s=2\r\nx-dup: 1\r\nX-Dup: 2\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n`,
  `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\nPOST /3 HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nokGET /4 HTTP/1.1\r\n${H}\r\n`,
  `POST /1 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`,
  `GET /empty-value HTTP/1.1\r\n${H}x-empty:\r\nx-spaces:   padded   \r\nx-tab:\tv\t\r\nx-obs: caf\xe9\r\n\r\n`,
  `DELETE /d HTTP/1.1\r\n${H}\r\n`,
  `PATCH /p HTTP/1.1\r\n${H}Content-Length: 1\r\n\r\nz`,
  `QUERY /q HTTP/1.1\r\n${H}Content-Length: 1\r\n\r\nq`,
  `get /lower HTTP/1.1\r\n${H}\r\n`,
  `FOO /unknown HTTP/1.1\r\n${H}\r\n`,
  `GET /no-host HTTP/1.1\r\n\r\n`,
  `GET /two-hosts HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n`,
  `GET / HTTP/2.0\r\n${H}\r\n`,
  `GET / HTTP/1.2\r\n${H}\r\n`,
  `GET /\r\n\r\n`,
  `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
  `CONNECT b.test:443 HTTP/1.1\r\nHost: b.test:443\r\n\r\n`,
  // smuggling: CL and TE together, repeated, odd
  `POST /s HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`,
  `POST /s HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Content-Length: -3\r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Content-Length: 0x3\r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Content-Length: 003\r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Content-Length:  3 \r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Content-Length : 3\r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nabc`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n \r\n\r\n0\r\n\r\n`,
  `POST /s HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  // obs-fold and line endings
  `GET /fold HTTP/1.1\r\n${H}x-folded: a\r\n b\r\n\r\n`,
  `GET /fold HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n chunked\r\n\r\n`,
  `GET /lf HTTP/1.1\n${H}\n`,
  `GET /lf HTTP/1.1\r\nHost: a.test\n\r\n`,
  `GET /cr HTTP/1.1\r${H}\r\n`,
  `GET /bare HTTP/1.1\r\nHost: a.test\rx: y\r\n\r\n`,
  // control bytes
  `GET /nul HTTP/1.1\r\n${H}x-nul: a\0b\r\n\r\n`,
  `GET /del HTTP/1.1\r\n${H}x-del: a\x7fb\r\n\r\n`,
  `GET /ctl HTTP/1.1\r\n${H}x-ctl: a\x01b\r\n\r\n`,
  `GET /sp ace HTTP/1.1\r\n${H}\r\n`,
  `GET /nul\0 HTTP/1.1\r\n${H}\r\n`,
  `GET / HTTP/1.1\r\n${H}bad name: v\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}:no-name\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}x\x80: high\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}no-colon\r\n\r\n`,
  // bad chunks
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n`,
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`,
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n`,
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n`,
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n`,
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n`,
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;x="q;uoted"\r\nabc\r\n0\r\n\r\n`,
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nbad trailer\r\n\r\n`,
];

/** Cases built of repeated parts, past the parser's limits (node:http's maxHeaderSize, MAX_HEADERS, chunk extensions). */
export function sizeCases(maxHeaderSize: number): string[] {
  const many = (n: number) => Array.from({ length: n }, (_, i) => `x-h${i}: v\r\n`).join("");
  return [
    `GET /${"a".repeat(maxHeaderSize)} HTTP/1.1\r\n${H}\r\n`,
    `GET /${"a".repeat(maxHeaderSize - 200)} HTTP/1.1\r\n${H}\r\n`,
    `GET / HTTP/1.1\r\n${H}x-big: ${"v".repeat(maxHeaderSize)}\r\n\r\n`,
    `GET / HTTP/1.1\r\n${H}x-big: ${"v".repeat(maxHeaderSize - 100)}\r\n\r\n`,
    `GET / HTTP/1.1\r\n${H}${many(255)}\r\n`,
    `GET / HTTP/1.1\r\n${H}${many(256)}\r\n`,
    `GET / HTTP/1.1\r\n${H}${many(600)}\r\n`,
    `GET / HTTP/1.1\r\n${H}${Array.from({ length: 2100 }, (_, i) => `${i % 10}:\r\n`).join("")}\r\n`,
    `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;${"e".repeat(20_000)}\r\nabc\r\n0\r\n\r\n`,
    `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n${"x-t: v\r\n".repeat(maxHeaderSize / 8 + 10)}\r\n`,
    `POST /big HTTP/1.1\r\n${H}Content-Length: 70000\r\n\r\n${"b".repeat(70_000)}`,
  ];
}

/** Bytes a mutation may put in: the ones every parser decision turns on. */
const INTERESTING = ["\r", "\n", " ", "\t", ":", ";", ",", "\0", "\x7f", "\x80", "\xff", "\x01", "0", "9", "a", "f", "-", "+", "\"", "\\", "/", "?", "#", "%"];
const LINES = ["Content-Length: 2\r\n", "Content-Length: 0\r\n", "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: identity\r\n", "Host: b.test\r\n", "Connection: close\r\n", "Connection: keep-alive\r\n", "Expect: 100-continue\r\n", " folded\r\n", "\r\n", "x-a: 1\r\n", "Upgrade: h2c\r\n", "Connection: upgrade\r\n"];

function pick<T>(random: RandomSource, from: readonly T[]): T {
  return from[Math.floor(random() * from.length)]!;
}

/** One to three random edits of `s`: bytes replaced, inserted, deleted; lines duplicated or added; case flipped; cut. */
export function mutate(s: string, random: RandomSource): string {
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (s.length + 1));
    switch (Math.floor(random() * 8)) {
      case 0:
        s = s.slice(0, at) + pick(random, INTERESTING) + s.slice(at + 1);
        break;
      case 1:
        s = s.slice(0, at) + pick(random, INTERESTING) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(random() * 3));
        break;
      case 3: {
        // A header line inserted at a line start.
        const line = s.lastIndexOf("\n", at) + 1;
        s = s.slice(0, line) + pick(random, LINES) + s.slice(line);
        break;
      }
      case 4: {
        const start = s.lastIndexOf("\n", at - 1) + 1;
        const end = s.indexOf("\n", at);
        if (end > start) s = s.slice(0, end + 1) + s.slice(start, end + 1) + s.slice(end + 1);
        break;
      }
      case 5: {
        const end = Math.min(s.length, at + 1 + Math.floor(random() * 16));
        const part = s.slice(at, end);
        s = s.slice(0, at) + (random() < 0.5 ? part.toUpperCase() : part.toLowerCase()) + s.slice(end);
        break;
      }
      case 6:
        s = s.slice(0, at);
        break;
      default:
        s = s + pick(random, BASE_CASES);
    }
  }
  return s;
}

/** `bytes` cut at up to three random places: the codec must not care where reads end. */
export function splits(bytes: Buffer, random: RandomSource): Buffer[] {
  if (bytes.length < 2 || random() < 0.3) return [bytes];
  const cuts = Array.from({ length: 1 + Math.floor(random() * 3) }, () => 1 + Math.floor(random() * (bytes.length - 1))).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    if (c > from) out.push(bytes.subarray(from, c));
    from = c;
  }
  out.push(bytes.subarray(from));
  return out;
}

// The differential fuzz of the HTTP/1.1 codec (issue 19): 100,000 generated requests — the valid, borderline and
// hostile corpus of test/helpers/http1-cases.ts and seeded random mutations of it — fed in-process, byte for
// byte, to node:http's server and to the llhttp codec (host/server/http1/), each on a socket of its own
// (test/helpers/fake-socket.ts) and each behind the same listener guard and the same head checks
// (host/server/request-head.ts headRefusal, as Pipeline.handle applies them). Both must take the same decision
// — which requests they accept, which statuses they write, whether they close — and, for every accepted request,
// hand over the same method, target, version, raw and parsed headers, body and trailers.
import http, { maxHeaderSize } from "node:http";
import type { Socket } from "node:net";
import { setImmediate as turn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { LISTENER_LIMIT_DEFAULTS } from "../host/config/listener-limits.js";
import { LLHTTP_VERSION } from "../host/server/http1/llhttp.js";
import { Http1Codec } from "../host/server/http1/server.js";
import { guardListener } from "../host/server/listener-guard.js";
import { headRefusal } from "../host/server/request-head.js";
import { FakeSocket } from "./helpers/fake-socket.js";
import { BASE_CASES, mutate, sizeCases, splits } from "./helpers/http1-cases.js";
import { seeded } from "./helpers/random.js";

const CASES = 100_000;
const SEED = 19;
/** Cases in flight at once (each waits for event-loop turns while its bodies stream). */
const BATCH = 256;

interface Seen {
  method: string;
  url: string;
  version?: string;
  rawHeaders?: string[];
  headers?: Record<string, unknown>;
  refused?: string;
  body?: string;
  trailers?: string[];
  complete?: boolean;
}

interface Decision {
  requests: Seen[];
  /** The status of every answer written, in order (the handler's, and the server's own: 100, 400, 408, 417, 431…). */
  statuses: number[];
  closed: boolean;
}

/** The request path's part the codecs must agree on: the head checks, the body read whole, then 200. */
function handler(requests: Seen[]): http.RequestListener {
  return (req, res) => {
    const seen: Seen = { method: req.method ?? "", url: req.url ?? "" };
    // Counted once answered: a pipelined request node:http parsed but aborted unanswered is not a decision.
    res.on("finish", () => requests.push(seen));
    req.on("error", () => undefined);
    const refused = headRefusal(req.rawHeaders);
    if (refused !== null) {
      seen.refused = refused.code;
      res.writeHead(refused.status, { "content-length": 0 });
      res.end();
      return;
    }
    seen.version = req.httpVersion;
    seen.rawHeaders = req.rawHeaders;
    seen.headers = { ...req.headers };
    const body: Buffer[] = [];
    req.on("data", (c: Buffer) => body.push(c));
    req.on("end", () => {
      seen.body = Buffer.concat(body).toString("latin1");
      seen.trailers = req.rawTrailers;
      seen.complete = req.complete;
      res.writeHead(200, { "content-length": 0 });
      res.end();
    });
  };
}

/** Feeds `chunks` to a fresh connection of `serve`, its requests to handler(seen), until nothing more happens on it. */
async function decide(serve: (s: FakeSocket) => void, chunks: readonly Buffer[]): Promise<Decision> {
  const requests: Seen[] = [];
  const socket = new FakeSocket(handler(requests));
  serve(socket);
  // One read per turn, as a socket delivers them.
  for (const c of chunks) {
    socket.feed(c);
    await turn();
  }
  let last = -1;
  let still = 0;
  // Bounded: a case settles in a few turns; 400 turns is a hang, reported as what was seen by then.
  for (let i = 0; i < 400 && still < 4; i++) {
    await turn();
    let progress = socket.writtenBytes() + requests.length * 1_000_000;
    for (const r of requests) progress += (r.body?.length ?? 0) + (r.complete === true ? 1 : 0);
    still = progress === last ? still + 1 : 0;
    last = progress;
  }
  const statuses = [...socket.written().matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  const closed = socket.closedByServer();
  socket.destroy();
  return { requests, statuses, closed };
}

/** Where two decisions first differ, short: the statuses, the close, or the first request field. */
function difference(n: Decision, c: Decision): string {
  if (JSON.stringify(n.statuses) !== JSON.stringify(c.statuses)) return `statuses node ${JSON.stringify(n.statuses)} codec ${JSON.stringify(c.statuses)}`;
  if (n.closed !== c.closed) return `closed node ${n.closed} codec ${c.closed}`;
  if (n.requests.length !== c.requests.length) return `requests node ${n.requests.length} codec ${c.requests.length} (statuses ${JSON.stringify(n.statuses)})`;
  for (let i = 0; i < n.requests.length; i++) {
    const a = n.requests[i]! as unknown as Record<string, unknown>;
    const b = c.requests[i]! as unknown as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const x = JSON.stringify(a[k]);
      const y = JSON.stringify(b[k]);
      if (x !== y) return `request ${i} ${k}: node ${String(x).slice(0, 200)} codec ${String(y).slice(0, 200)}`;
    }
  }
  return "";
}

/** Each fake socket carries the handler of its own case. */
const route: http.RequestListener = (req, res) => (req.socket as unknown as FakeSocket).onRequest(req, res);

describe("llhttp codec against node:http, differential", () => {
  it(`runs on the llhttp Node ships, ${LLHTTP_VERSION} (a Node with another must be fuzzed again before it serves)`, () => {
    expect(process.versions.llhttp).toBe(LLHTTP_VERSION);
  });

  it(`${CASES.toLocaleString("en")} generated requests: the same decision and the same parsed request`, async () => {
    const random = seeded(SEED);
    const limits = LISTENER_LIMIT_DEFAULTS;
    const nodeServer = http.createServer(route);
    guardListener(nodeServer, limits, () => undefined);
    const codec = new Http1Codec({ limits, handler: route, closed: () => undefined });
    const corpus = [...BASE_CASES, ...sizeCases(maxHeaderSize)];
    const mismatches: { bytes: string; difference: string }[] = [];
    let accepted = 0;
    let refused = 0;
    const started = performance.now();
    for (let done = 0; done < CASES; ) {
      const batch: Promise<void>[] = [];
      for (let b = 0; b < BATCH && done < CASES; b++, done++) {
        const base = corpus[done % corpus.length]!;
        // The corpus itself once; then mutations of it, cut at random places (the same for both sides).
        const text = done < corpus.length ? base : mutate(base, random);
        const bytes = Buffer.from(text, "latin1");
        const chunks = splits(bytes, random);
        batch.push((async () => {
          const [n, c] = await Promise.all([
            decide((s) => nodeServer.emit("connection", s), chunks),
            decide((s) => codec.connection(s as unknown as Socket), chunks),
          ]);
          const d = difference(n, c);
          if (d !== "" && mismatches.length < 12) mismatches.push({ bytes: text.length > 300 ? `${text.slice(0, 300)}… (${text.length} bytes)` : text, difference: d });
          if (n.requests.some((r) => r.refused === undefined)) accepted++;
          else refused++;
        })());
      }
      await Promise.all(batch);
    }
    codec.close();
    const ms = performance.now() - started;
    expect(mismatches, JSON.stringify(mismatches, null, 1).slice(0, 6000)).toEqual([]);
    // The corpus reaches both sides of every decision.
    expect(accepted).toBeGreaterThan(CASES / 20);
    expect(refused).toBeGreaterThan(CASES / 20);
    console.log(`${CASES} cases in ${Math.round(ms)} ms: ${accepted} with a request accepted, ${refused} without`);
  }, 120_000);
});

// What the llhttp codec (host/server/http1/) does that the differential fuzz cannot show by comparison with
// node:http: deadlines on an injected clock, and pipelined requests answered in order when the first is slow.
// Real sockets on 127.0.0.1; each case named after what the client sends.
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LISTENER_LIMIT_DEFAULTS } from "../host/config/listener-limits.js";
import type { ListenerClose } from "../host/server/listener-guard.js";
import { Http1Codec } from "../host/server/http1/server.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { fixtureChanges, waitFor } from "./helpers/changes.js";

let server: Server | undefined;
let codec: Http1Codec | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  codec?.close();
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, clock: ManualClock, closes: ListenerClose[]): Promise<{ socket: Socket; text: () => string; closed: Promise<void> }> {
  const limits = { ...LISTENER_LIMIT_DEFAULTS, headerTimeoutMs: 1_000, requestTimeoutMs: 5_000, idleTimeoutMs: 2_000 };
  codec = new Http1Codec({ limits, handler, closed: (r) => closes.push(r), now: () => clock.now() });
  const c = codec;
  server = createServer({ allowHalfOpen: true }, (s) => c.connection(s));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  // The server's side of the connection exists (the codec has it) before the test moves the clock.
  const accepted = once(server, "connection");
  const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
  sockets.push(socket);
  let text = "";
  socket.on("data", (d: Buffer) => {
    text += d.toString("latin1");
    fixtureChanges.notify();
  });
  socket.on("error", () => undefined);
  const closed = new Promise<void>((r) => socket.on("close", () => r()));
  await Promise.all([once(socket, "connect"), accepted]);
  return { socket, text: () => text, closed };
}

function ok(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "content-length": 2 });
  res.end("ok");
}

describe("llhttp codec deadlines on an injected clock", () => {
  it("half a request head: open 1 ms before header_timeout, 408 and closed at it, counted", async () => {
    const clock = new ManualClock(0);
    const closes: ListenerClose[] = [];
    const c = await serve(ok, clock, closes);
    c.socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n");
    clock.advance(999);
    codec!.check();
    expect(closes).toEqual([]);
    clock.advance(1);
    codec!.check();
    await c.closed;
    expect(c.text()).toMatch(/^HTTP\/1\.1 408 /);
    expect(closes).toEqual(["header_timeout"]);
  });

  it("one answered request, then nothing: open until idle_timeout after the answer, then closed without a byte more", async () => {
    const clock = new ManualClock(0);
    const closes: ListenerClose[] = [];
    const c = await serve(ok, clock, closes);
    c.socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    await waitFor("the answer", () => c.text().endsWith("ok"));
    const answered = c.text().length;
    // The head deadline no longer applies between requests: past header_timeout the connection stays.
    clock.advance(1_999);
    codec!.check();
    expect(closes).toEqual([]);
    clock.advance(1);
    codec!.check();
    await c.closed;
    expect(c.text().length).toBe(answered);
    expect(closes).toEqual(["idle_timeout"]);
  });
});

describe("llhttp codec pipelining", () => {
  it("GET /slow and GET /fast in one write: /fast is handed on only after /slow is answered, and answers follow in order", async () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    let answerSlow: (() => void) | null = null;
    const c = await serve((req, res) => {
      seen.push(req.url!);
      if (req.url === "/slow") {
        answerSlow = () => ok(req, res);
        fixtureChanges.notify();
      }
      else {
        res.writeHead(200, { "content-length": 4 });
        res.end("fast");
      }
    }, clock, []);
    c.socket.write("GET /slow HTTP/1.1\r\nHost: a.test\r\n\r\nGET /fast HTTP/1.1\r\nHost: a.test\r\n\r\n");
    await waitFor("the slow request handed on", () => answerSlow !== null);
    expect(seen).toEqual(["/slow"]);
    expect(c.text()).toBe("");
    answerSlow!();
    await waitFor("both answers", () => c.text().endsWith("fast"));
    expect(seen).toEqual(["/slow", "/fast"]);
    const bodies = [...c.text().matchAll(/\r\n\r\n(ok|fast)/g)].map((m) => m[1]);
    expect(bodies).toEqual(["ok", "fast"]);
  });
});

describe("llhttp codec when the listener stops", () => {
  it("a request being answered when the idle connections are closed: answered with connection: close, then closed", async () => {
    const clock = new ManualClock(0);
    let answer: (() => void) | null = null;
    const c = await serve((req, res) => {
      answer = () => ok(req, res);
      fixtureChanges.notify();
    }, clock, []);
    c.socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    await waitFor("the request handed on", () => answer !== null);
    codec!.closeIdleConnections();
    expect(c.socket.destroyed).toBe(false);
    answer!();
    await c.closed;
    expect(c.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*connection: close\r\n\r\nok$/);
  });
});

// Hostile upstreams that send without end (issue 19's upstream client must be bounded where undici's is): endless
// response headers, an endless chunk-size line, endless chunk extensions; and the framing that decides whether an
// upstream connection is reused. vitest.config.ts runs this file on both upstream clients (undici, llhttp).
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { fixtureChanges } from "./helpers/changes.js";
import { finalWithBody, rawExchange } from "./helpers/raw.js";
import { anyHost, mosnConfig, type RunningSwitchyard, startSwitchyard } from "./helpers/switchyard.js";

/** What the flood writes at most, per connection: far past every limit of either client. */
const FLOOD_BYTES = 8 * 1024 * 1024;

interface FloodUpstream {
  readonly address: string;
  /** Connections accepted so far. */
  connections: number;
  /** Per connection: bytes written before the proxy closed it, or -1 while open / when the flood ran out. */
  readonly cut: number[];
  close(): Promise<void>;
}

/**
 * An upstream that answers each request head with `head`, then writes `unit` again and again (waiting for drain)
 * until FLOOD_BYTES or until the proxy closes the connection; `answer` instead gives a whole reply per head.
 */
async function startUpstream(opts: { head?: string; unit?: string; answer?: (requestHead: string) => string; endAfterAnswer?: boolean }): Promise<FloodUpstream> {
  const sockets = new Set<Socket>();
  const up: FloodUpstream = { address: "", connections: 0, cut: [], close: async () => undefined };
  const server: Server = createServer((socket) => {
    up.connections++;
    sockets.add(socket);
    const index = up.cut.push(-1) - 1;
    let written = 0;
    let buffered = "";
    socket.on("error", () => undefined);
    socket.on("close", () => {
      sockets.delete(socket);
      if (written < FLOOD_BYTES && opts.unit !== undefined) up.cut[index] = written;
      fixtureChanges.notify();
    });
    const flood = (): void => {
      const unit = Buffer.from(opts.unit!, "latin1");
      while (!socket.destroyed && written < FLOOD_BYTES) {
        written += unit.length;
        if (!socket.write(unit)) {
          socket.once("drain", flood);
          return;
        }
      }
    };
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      let end: number;
      while ((end = buffered.indexOf("\r\n\r\n")) >= 0) {
        const requestHead = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        if (opts.answer !== undefined) {
          socket.write(opts.answer(requestHead));
          if (opts.endAfterAnswer === true) socket.end();
        }
        else {
          socket.write(opts.head!);
          flood();
        }
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  (up as { address: string }).address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  up.close = () => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  return up;
}

let sy: RunningSwitchyard | undefined;
let up: FloodUpstream | undefined;
afterEach(async () => {
  await sy?.close();
  await up?.close();
  sy = undefined;
  up = undefined;
});

async function proxyTo(u: FloodUpstream): Promise<RunningSwitchyard> {
  sy = await startSwitchyard({
    config: mosnConfig({
      clusters: [{ name: "c", hosts: [u.address] }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "10s" } }])],
    }),
  });
  return sy;
}

const GET = "GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n";

/** Waits until the upstream saw its flood cut (told at each close), or fails after `ms`. */
function cutWithin(u: FloodUpstream, ms: number): Promise<number> {
  return fixtureChanges.until(`the proxy to close the flooding upstream within ${ms} ms`, () => (u.cut[0] !== undefined && u.cut[0] >= 0 ? u.cut[0] : undefined), ms);
}

describe("upstreams that send without end", () => {
  it("endless response headers: 502 E_UPSTREAM_PROTOCOL, and the upstream connection is closed long before the flood ends", async () => {
    up = await startUpstream({ head: "HTTP/1.1 200 OK\r\n", unit: "x-flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(64) });
    const s = await proxyTo(up);
    const text = await rawExchange(s.url, GET, finalWithBody(1));
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
    expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))).toMatchObject({ error: "E_UPSTREAM_PROTOCOL" });
    expect(await cutWithin(up, 5_000)).toBeLessThan(FLOOD_BYTES / 2);
  });

  it("an endless chunk-size line: never a complete answer (at most the head, then a cut), 502 logged as E_UPSTREAM_PROTOCOL", async () => {
    up = await startUpstream({ head: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", unit: "f".repeat(4096) });
    const s = await proxyTo(up);
    const text = await rawExchange(s.url, GET);
    // The head is sent with the first body byte, so a cut that comes first leaves the client nothing at all.
    expect(text === "" || /^HTTP\/1\.1 200 OK\r\n/.test(text)).toBe(true);
    expect(text.endsWith("0\r\n\r\n")).toBe(false);
    expect(await cutWithin(up, 5_000)).toBeLessThan(FLOOD_BYTES / 2);
    expect(s.accessLog().at(-1)).toMatchObject({ reason: "E_UPSTREAM_PROTOCOL" });
  });

  // Node's llhttp binding bounds chunk extensions (16 KiB, HPE_CHUNK_EXTENSIONS_OVERFLOW); undici's WebAssembly
  // llhttp reads them on without keeping them, so on undici's client this flood runs to its end.
  it("endless chunk extensions, llhttp upstream client: never a complete answer, and the upstream is closed", async () => {
    up = await startUpstream({ head: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1;ext=", unit: "a".repeat(4096) });
    sy = await startSwitchyard({
      config: {
        ...mosnConfig({
          clusters: [{ name: "c", hosts: [up.address] }],
          virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "10s" } }])],
        }),
        switchyard: { upstream_client: "llhttp" },
      },
    });
    const text = await rawExchange(sy.url, GET);
    expect(text.endsWith("0\r\n\r\n")).toBe(false);
    expect(await cutWithin(up, 5_000)).toBeLessThan(FLOOD_BYTES / 2);
    expect(sy.accessLog().at(-1)).toMatchObject({ reason: "E_UPSTREAM_PROTOCOL" });
  });
});

describe("upstream connection reuse", () => {
  const three = async (s: RunningSwitchyard, request: string, done: (t: string) => boolean): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < 3; i++) out.push(await rawExchange(s.url, request, done));
    return out;
  };

  it("keep-alive answers: three requests in turn, one upstream connection", async () => {
    up = await startUpstream({ answer: () => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" });
    const s = await proxyTo(up);
    for (const t of await three(s, GET, finalWithBody(2))) expect(t).toMatch(/\r\n\r\nok$/);
    expect(up.connections).toBe(1);
  });

  it("connection: close answers: three requests, three upstream connections, every answer whole", async () => {
    up = await startUpstream({ answer: () => "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok" });
    const s = await proxyTo(up);
    for (const t of await three(s, GET, finalWithBody(2))) expect(t).toMatch(/\r\n\r\nok$/);
    expect(up.connections).toBe(3);
  });

  it("an answer framed by the end of the connection (HTTP/1.0, no length): each is read whole, to the close", async () => {
    up = await startUpstream({ answer: () => "HTTP/1.0 200 OK\r\n\r\nuntil-close", endAfterAnswer: true });
    const s = await proxyTo(up);
    // Passed on chunked: whole when the last chunk came.
    for (const t of await three(s, GET, (t) => t.endsWith("\r\n0\r\n\r\n"))) {
      expect(t).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(t).toContain("until-close");
    }
    expect(up.connections).toBe(3);
    expect(s.accessLog().map((l) => l.reason ?? null)).toEqual([null, null, null]);
  });

  it("a chunked answer with a trailer: the client gets the body and the trailer, and the connection is reused", async () => {
    up = await startUpstream({ answer: () => "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-checksum: 42\r\n\r\n" });
    const s = await proxyTo(up);
    for (const t of await three(s, GET, (t) => t.endsWith("\r\n\r\n") && t.includes("\r\n0\r\n"))) {
      expect(t).toMatch(/\r\n2\r\nok\r\n0\r\nx-checksum: 42\r\n\r\n$/);
    }
    expect(up.connections).toBe(1);
  });

  it("HEAD answered with a content-length and no body: the client gets the head, and the next GET its body", async () => {
    up = await startUpstream({
      answer: (h) => (h.startsWith("HEAD ") ? "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n" : "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
    });
    const s = await proxyTo(up);
    const head = await rawExchange(s.url, "HEAD /x HTTP/1.1\r\nHost: a.test\r\n\r\n", (t) => t.includes("\r\n\r\n"));
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*content-length: 5\r\n/i);
    expect(await rawExchange(s.url, GET, finalWithBody(2))).toMatch(/\r\n\r\nok$/);
    expect(s.accessLog().map((l) => l.status)).toEqual([200, 200]);
  });
});

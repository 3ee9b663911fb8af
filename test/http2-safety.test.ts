// HTTP/2 safety (issue 15): the listener's SETTINGS come from switchyard.http2 (concurrent streams, header list
// size, window) and rapid reset (CVE-2023-44487) is bounded: a client that opens and resets 10,000 streams on
// one connection has that connection closed after max_stream_resets_per_second of them, counted, while another
// client is served and the host's memory stays bounded. A header block continued without end (the CONTINUATION
// flood) closes its connection, counted, before anything is routed. A paused HTTP/2 reader holds the upstream back and gets
// the whole body when it reads again.

import { once } from "node:events";
import http from "node:http";
import http2, { type ClientHttp2Session } from "node:http2";
import net, { type AddressInfo } from "node:net";
import { setImmediate as tick } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { startUpstreams, waitFor, type Upstreams } from "./helpers/upstreams.js";

let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;
const sessions: ClientHttp2Session[] = [];
let upstreamServer: http.Server | undefined;

afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await sy?.close();
  await ups?.close();
  if (upstreamServer) {
    upstreamServer.closeAllConnections();
    await new Promise<void>((resolve) => upstreamServer!.close(() => resolve()));
  }
  upstreamServer = undefined;
  sy = undefined;
  ups = undefined;
});

async function start(http2Limits?: object, timeouts: object = {}, delayMs = 50, clock?: ManualClock): Promise<RunningSwitchyard> {
  ups = await startUpstreams(1, { delayMs });
  const config = mosnConfig({
    clusters: [{ name: "c", hosts: ups.addresses }],
    virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }])],
    proxy: { downstream_protocol: "Http2" },
  }) as { servers: { listeners: Record<string, unknown>[] }[] };
  config.servers[0]!.listeners[0]!.switchyard = { ...timeouts, ...(http2Limits ? { http2: http2Limits } : {}) };
  return startSwitchyard({ config, ...(clock ? { clock } : {}) });
}

function connect(url: string): Promise<ClientHttp2Session> {
  const s = http2.connect(url);
  s.on("error", () => undefined);
  sessions.push(s);
  return new Promise((resolve) => s.once("remoteSettings", () => resolve(s)));
}

function get(s: ClientHttp2Session, path = "/"): Promise<number> {
  return new Promise((resolve, reject) => {
    const st = s.request({ ":path": path });
    let status = 0;
    st.on("response", (h) => (status = Number(h[":status"])));
    st.resume();
    st.on("end", () => resolve(status));
    st.on("error", reject);
  });
}

async function metric(name: string): Promise<string> {
  return (await sy!.host.metrics.scrape()).body.split("\n").filter((l) => l.startsWith(name)).join("\n");
}

describe("HTTP/2 settings", () => {
  it("defaults: 100 concurrent streams, a 64 KiB header list, the RFC's 65,535-byte window", async () => {
    sy = await start();
    const s = await connect(sy.url);
    expect(s.remoteSettings).toMatchObject({ maxConcurrentStreams: 100, maxHeaderListSize: 65_536, initialWindowSize: 65_535 });
  });

  it("switchyard.http2 sets them; a header block over max_header_list_size is refused", async () => {
    sy = await start({ max_concurrent_streams: 7, max_header_list_size: 4096, initial_window_size: 1_048_576 });
    const s = await connect(sy.url);
    expect(s.remoteSettings).toMatchObject({ maxConcurrentStreams: 7, maxHeaderListSize: 4096, initialWindowSize: 1_048_576 });
    expect(await get(s)).toBe(200);
    const big = await new Promise<string>((resolve) => {
      const st = s.request({ ":path": "/", "x-big": "y".repeat(8_000) });
      st.on("response", (h) => resolve(`status ${String(h[":status"])}`));
      st.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      st.on("close", () => resolve(`closed ${st.rstCode}`));
      st.resume();
    });
    expect(big).not.toBe("status 200");
    expect(ups!.list[0]!.requests.filter((r) => r.headers["x-big"] !== undefined)).toEqual([]);
  });
});

describe("rapid reset (CVE-2023-44487)", () => {
  it("10,000 streams opened and reset on one connection: closed after the limit, counted, another client still served, memory bounded", async () => {
    sy = await start({ max_stream_resets_per_second: 200 });
    const good = await connect(sy.url);
    expect(await get(good)).toBe(200);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;

    const bad = await connect(sy.url);
    const closed = new Promise<void>((resolve) => bad.once("close", () => resolve()));
    let sent = 0;
    const deadline = performance.now() + 20_000;
    for (; sent < 10_000 && !bad.destroyed && !bad.closed && performance.now() < deadline; sent++) {
      try {
        const st = bad.request({ ":path": `/r/${sent}` });
        st.on("error", () => undefined);
        st.close(http2.constants.NGHTTP2_CANCEL);
      } catch {
        break; // the host closed the connection: the session refuses new streams
      }
      if (sent % 100 === 99) await tick();
    }
    await closed;
    // The connection was closed long before 10,000; and the other client is still served.
    expect(sent).toBeLessThan(10_000);
    expect(await get(good)).toBe(200);
    const fresh = await connect(sy.url);
    expect(await get(fresh)).toBe(200);

    expect(await metric("switchyard_listener_connections_closed_total")).toContain('reason="http2_rapid_reset"} 1');
    const resets = Number(/switchyard_http2_streams_reset_total\{listener="main"\} (\d+)/.exec(await metric("switchyard_http2_streams_reset_total"))?.[1]);
    expect(resets).toBeGreaterThan(200);
    expect(resets).toBeLessThanOrEqual(sent);
    // Few of the reset streams reached the upstream at all (each one that did was cut), and memory is bounded.
    expect(ups!.list[0]!.requests.length).toBeLessThan(sent);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });
});

/** An HTTP/2 frame: 9-byte header (length, type, flags, stream id) and its payload (RFC 9113 §4.1). */
function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK "literal header field without indexing, new name" (RFC 7541 §6.2.2) for short ASCII names and values. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

describe("CONTINUATION flood (CVE-2024-27316 and kin)", () => {
  it("a header block continued by 10,000 CONTINUATION frames: the connection is closed, counted, nothing reaches the upstream, others served", async () => {
    sy = await start();
    const good = await connect(sy.url);
    expect(await get(good)).toBe(200);
    const before = ups!.list[0]!.requests.length;
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;

    const sock = net.connect(Number(new URL(sy.url).port), "127.0.0.1");
    sock.on("error", () => undefined); // the host closes while frames are still being written: EPIPE
    const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    sock.resume(); // read what the host sends (its SETTINGS, then GOAWAY), so that its close is seen
    sock.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    sock.write(frame(0x4, 0, 0, Buffer.alloc(0))); // SETTINGS
    // HEADERS without END_HEADERS (GET, http, /: HPACK static indices 2, 6, 4), then CONTINUATION frames, none
    // ending the block.
    sock.write(frame(0x1, 0, 1, Buffer.from([0x82, 0x86, 0x84])));
    let sent = 0;
    for (; sent < 10_000 && !sock.destroyed; sent++) {
      if (!sock.write(frame(0x9, 0, 1, literal("x-a", "b")))) await Promise.race([once(sock, "drain"), closed]);
    }
    await closed;

    expect(await metric("switchyard_listener_connections_closed_total")).toContain('reason="http2_continuation_flood"} 1');
    expect(ups!.list[0]!.requests.length).toBe(before);
    expect(await get(good)).toBe(200);
    const fresh = await connect(sy.url);
    expect(await get(fresh)).toBe(200);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });
});

describe("timeouts on HTTP/2 connections and streams", () => {
  const closesBy = async (reason: string) =>
    Number(new RegExp(`reason="${reason}"\\} (\\d+)`).exec(await metric("switchyard_listener_connections_closed_total"))?.[1] ?? 0);

  it("header_timeout: a connection that opens no stream is closed at it, counted", async () => {
    const clock = new ManualClock();
    sy = await start(undefined, { header_timeout: "300ms", request_timeout: "5s" }, 50, clock);
    const s = await connect(sy.url);
    const closed = once(s, "close");
    clock.advance(299);
    expect(await closesBy("header_timeout")).toBe(0);
    clock.advance(1);
    await closed;
    expect(await closesBy("header_timeout")).toBe(1);
  });

  it("request_timeout: a stream whose body never ends gets 408; the connection and its other streams go on", async () => {
    const clock = new ManualClock();
    sy = await start(undefined, { header_timeout: "300ms", request_timeout: "600ms" }, 50, clock);
    const s = await connect(sy.url);
    const st = s.request({ ":path": "/upload", ":method": "POST" });
    st.on("error", () => undefined);
    const response = once(st, "response");
    st.write("part of a body that never ends");
    // The host has the stream (its upstream attempt has begun) before its deadline is moved past.
    await waitFor("the upload reaches the upstream", () => ups!.list[0]!.requests.length === 1);
    clock.advance(600);
    const [headers] = (await response) as [Record<string, unknown>];
    expect(headers[":status"]).toBe(408);
    expect(await get(s)).toBe(200);
    expect(await closesBy("request_timeout")).toBe(1);
    expect(s.closed || s.destroyed).toBe(false);
  });

  it("idle_timeout: no stream open for it closes the connection even while the client pings; a slow answer is not cut", async () => {
    const clock = new ManualClock();
    sy = await start(undefined, { idle_timeout: "300ms" }, 0, clock);
    const s = await connect(sy.url);
    // While a stream is open the connection is not idle, however far the clock moves.
    const st = s.request({ ":path": "/upload", ":method": "POST" });
    st.on("error", () => undefined);
    st.write("x");
    await waitFor("the upload reaches the upstream", () => ups!.list[0]!.requests.length === 1);
    clock.advance(10_000);
    st.end();
    const [headers] = (await once(st, "response")) as [Record<string, unknown>];
    expect(headers[":status"]).toBe(200);
    st.resume();
    await once(st, "close");
    // Idle now: PINGs (answered, counted below) do not reset it, 300 ms of clock closes it.
    const closed = once(s, "close");
    let pings = 0;
    for (; pings < 20; pings++) await new Promise<void>((resolve, reject) => s.ping((err) => (err ? reject(err) : resolve())));
    clock.advance(299);
    expect(s.closed || s.destroyed).toBe(false);
    clock.advance(1);
    await closed;
    expect(pings).toBe(20);
    expect(await closesBy("idle_timeout")).toBe(1);
  });
});

describe("a slow HTTP/2 reader", () => {
  it("a paused reader gets the whole body once it reads again: the upstream waits on the client's drain", async () => {
    const TOTAL = 32 * 1024 * 1024;
    const CHUNK = Buffer.alloc(64 * 1024, "z");
    let written = 0;
    let blockedAt = -1;
    const blocked = new Promise<void>((resolve) => {
      upstreamServer = http.createServer((_req, res) => {
        res.writeHead(200, { "content-length": String(TOTAL) });
        const pump = () => {
          while (written < TOTAL) {
            written += CHUNK.length;
            if (!res.write(CHUNK)) {
              if (blockedAt < 0) {
                blockedAt = written;
                resolve();
              }
              res.once("drain", pump);
              return;
            }
          }
          res.end();
        };
        pump();
      });
    });
    upstreamServer.listen(0, "127.0.0.1");
    await once(upstreamServer, "listening");
    const address = `127.0.0.1:${(upstreamServer.address() as AddressInfo).port}`;
    sy = await startSwitchyard({
      config: mosnConfig({
        clusters: [{ name: "c", hosts: [address] }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "20s" } }])],
        proxy: { downstream_protocol: "Http2" },
      }),
    });
    const s = await connect(sy.url);
    const st = s.request({ ":path": "/big" });
    await once(st, "response");
    st.pause();
    // The upstream is held back (its writes wait for 'drain') while the client does not read.
    await blocked;
    expect(written).toBeLessThan(TOTAL);
    // Reading resumes it, to the last byte.
    let got = 0;
    st.on("data", (c: Buffer) => (got += c.length));
    st.resume();
    await once(st, "end");
    expect(got).toBe(TOTAL);
  });
});

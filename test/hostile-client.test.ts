// Hostile clients (issue 18): slow, idle, too many, tunnelling, or claiming two hosts. Each case is named after
// what the client sends, over a raw socket to 127.0.0.1, and the host's answer is read as raw bytes.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { attachMetrics, type SwitchyardMetrics } from "../host/metrics/metrics.js";
import { rawExchange } from "./helpers/raw.js";
import { anyHost, mosnConfig, type RunningSwitchyard, startSwitchyard, upstreamOf } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams, waitFor } from "./helpers/upstreams.js";
import { fixtureChanges } from "./helpers/changes.js";

let sy: RunningSwitchyard | undefined;
let ups: Upstreams | undefined;
let metrics: SwitchyardMetrics | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await sy?.close();
  await ups?.close();
  sy = undefined;
  ups = undefined;
});

/** One listener with `limits` as its switchyard block, routing everything to one upstream. */
async function start(limits: object = {}): Promise<RunningSwitchyard> {
  ups = await startUpstreams(1);
  const config = mosnConfig({
    clusters: [{ name: "c", hosts: ups.addresses }],
    virtualHosts: [
      { name: "b", domains: ["b.test"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }] },
      anyHost([{ match: { prefix: "/" }, direct_response: { status: 200, body: "direct\n" } }]),
    ],
  }) as { servers: [{ listeners: [Record<string, unknown>] }] };
  config.servers[0].listeners[0]["switchyard"] = limits;
  sy = await startSwitchyard({ config });
  metrics = attachMetrics(sy.host);
  return sy;
}

/** A raw connection whose every received byte and close are recorded. */
function open(url: string): Promise<{ socket: Socket; text: () => string; closed: Promise<number> }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1");
    sockets.push(socket);
    let text = "";
    const opened = Date.now();
    socket.on("data", (c) => {
      text += c.toString("latin1");
      fixtureChanges.notify();
    });
    socket.on("error", () => undefined);
    const closed = new Promise<number>((r) => socket.on("close", () => r(Date.now() - opened)));
    socket.once("connect", () => resolve({ socket, text: () => text, closed }));
    socket.once("error", reject);
  });
}

/** The listener-close counter lines of the metrics attached at start. */
async function closes(_s: RunningSwitchyard): Promise<string> {
  return (await metrics!.scrape()).body.split("\n").filter((l) => l.startsWith("switchyard_listener_connections_closed_total{")).join("\n");
}

describe("slow and idle clients", () => {
  it("a request head trickled one byte every 40 ms: 408 and closed at header_timeout, counted", async () => {
    const s = await start({ header_timeout: "300ms", request_timeout: "2s" });
    const c = await open(s.url);
    const head = "GET / HTTP/1.1\r\nHost: a.test\r\nx-pad: " + "a".repeat(200);
    let at = 0;
    // Bounded: 200+ bytes at 40 ms would take 8 s; the host must close long before.
    const trickle = setInterval(() => c.socket.writable && at < head.length && c.socket.write(head[at++]!), 40);
    const ms = await c.closed;
    clearInterval(trickle);
    expect(c.text()).toMatch(/^HTTP\/1\.1 408 /);
    expect(at).toBeLessThan(head.length);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(2_000);
    expect(await closes(s)).toContain('switchyard_listener_connections_closed_total{listener="main",reason="header_timeout"} 1');
  });

  it("a connection that sends nothing: closed at header_timeout", async () => {
    const s = await start({ header_timeout: "300ms", request_timeout: "2s" });
    const c = await open(s.url);
    const ms = await c.closed;
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(2_000);
    expect(await closes(s)).toContain('reason="header_timeout"} 1');
  });

  it("one request, then silence on the keep-alive connection: closed at idle_timeout, counted", async () => {
    const s = await start({ idle_timeout: "200ms" });
    const c = await open(s.url);
    c.socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    await waitFor("the response", () => c.text().includes("direct\n"));
    const answeredAt = Date.now();
    await c.closed;
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(150);
    expect(await closes(s)).toContain('reason="idle_timeout"} 1');
  });

  it("a body promised by content-length: 10 and never sent: 408 at request_timeout", async () => {
    const s = await start({ header_timeout: "200ms", request_timeout: "400ms" });
    const c = await open(s.url);
    c.socket.write("POST / HTTP/1.1\r\nHost: b.test\r\ncontent-length: 10\r\n\r\n12");
    const ms = await c.closed;
    expect(ms).toBeLessThan(3_000);
    // The upstream may already have begun answering; either way the connection is closed and counted.
    expect(await closes(s)).toContain('reason="request_timeout"} 1');
  });
});

describe("too many connections", () => {
  it("a fourth connection with max_connections 3: closed on accept, counted; the three still served", async () => {
    const s = await start({ max_connections: 3 });
    const held = [await open(s.url), await open(s.url), await open(s.url)];
    const fourth = await open(s.url);
    await fourth.closed;
    expect(fourth.text()).toBe("");
    expect(await closes(s)).toContain('reason="connection_limit"} 1');
    held[0]!.socket.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    await waitFor("the held connection's response", () => held[0]!.text().includes("direct\n"));
  });
});

describe("requests a proxy must refuse or correct", () => {
  it("CONNECT b.test:443: 405 with Allow, not a silent close", async () => {
    const s = await start();
    const text = await rawExchange(s.url, "CONNECT b.test:443 HTTP/1.1\r\nHost: b.test:443\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(text).toMatch(/\r\nallow: GET, HEAD/);
    // The proxy's own answer, in the one shape of its answers (host/proxy/errors.ts errorAnswer), its length exact.
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    expect(JSON.parse(body)).toEqual({ error: "E_CONNECT_NOT_PROXIED", message: "CONNECT is not proxied by Switchyard" });
    expect(text).toMatch(new RegExp(`\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`));
  });

  it("two Host headers, a.test and b.test: 400 before routing", async () => {
    const s = await start();
    const text = await rawExchange(s.url, "GET /x HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nconnection: close\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(ups!.list[0]!.requests).toHaveLength(0);
    expect(s.accessLog().at(-1)).toMatchObject({ status: 400, reason: "E_DUPLICATE_HOST" });
  });

  it("GET http://b.test/x with Host: a.test: routed as b.test, and the upstream sees host b.test", async () => {
    const s = await start();
    const text = await rawExchange(s.url, "GET http://b.test/x HTTP/1.1\r\nHost: a.test\r\nconnection: close\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    const seen = ups!.list[0]!.requests;
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers["host"]).toBe("b.test");
    expect(seen[0]!.headers["x-forwarded-host"]).toBe("b.test");
    expect(seen[0]!.url).toBe("/x");
  });
});

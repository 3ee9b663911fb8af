// Upstream HTTP/2 (issue 15): a cluster's http2_protocol_options, or the listener's upstream_protocol, makes the
// forwarder speak h2 — h2c by prior knowledge in cleartext, ALPN h2 over TLS — multiplexing requests over one
// connection per host (over TLS too, where ALPN offers h2 alone; upstream_protocol Auto, which also takes
// HTTP/1.1, keeps one request per connection). Real node:http2 and node:https upstreams that record the protocol
// and the connections they saw.

import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import http2 from "node:http2";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeCa, makeLeaf, type Ca, type Pem } from "./helpers/certs.js";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";

let dir: string;
let ca: Ca;
let leaf: Pem;
let sy: RunningSwitchyard | undefined;
let upstream: http2.Http2Server | http2.Http2SecureServer | https.Server | undefined;
/** TCP connections the upstream accepted (h2 sessions and HTTP/1.1 connections alike). */
let connections = 0;
const seen: { version: string; host: string | undefined; authority: string | undefined }[] = [];
let sessions = 0;
/** Set by a test: every answer waits until this many requests have arrived, so that they are all in flight at once. */
let gate: { readonly n: number; readonly waiting: (() => void)[] } | null = null;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-h2-up-"));
  ca = await makeCa(dir);
  leaf = await makeLeaf(ca, "upstream", ["127.0.0.1"]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await sy?.close();
  sy = undefined;
  if (upstream instanceof https.Server) upstream.closeAllConnections();
  if (upstream) await new Promise<void>((resolve) => upstream!.close(() => resolve()));
  upstream = undefined;
  seen.length = 0;
  sessions = 0;
  connections = 0;
  gate = null;
});

/** Answers now, or, with a gate, once `gate.n` requests have arrived (each then answered at once). */
function answerWhenGated(answer: () => void): void {
  if (gate === null) return answer();
  gate.waiting.push(answer);
  if (gate.waiting.length >= gate.n) for (const a of gate.waiting.splice(0)) a();
}

/** An HTTP/2 upstream (h2c, or h2 over TLS; with allowHTTP1 where `alsoHttp1`), answering "ok" after `delayMs`. */
async function startH2Upstream(tls: boolean, alsoHttp1 = false, delayMs = 0): Promise<string> {
  const onRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    seen.push({ version: req.httpVersion, host: req.headers.host as string | undefined, authority: req.headers[":authority"] as string | undefined });
    req.resume();
    setTimeout(() => answerWhenGated(() => res.end("ok")), delayMs);
  };
  upstream = tls ? http2.createSecureServer({ cert: leaf.cert, key: leaf.key, allowHTTP1: alsoHttp1 }, onRequest) : http2.createServer(onRequest);
  upstream.on("connection", () => connections++);
  upstream.on("session", (s: http2.ServerHttp2Session) => {
    sessions++;
    // A test's upstream must not keep the proxy's pool open past close().
    upstream!.once("close", () => s.destroy());
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  return `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

function config(address: string, cluster: object, proxy: object = {}): object {
  return mosnConfig({
    clusters: [{ name: "c", hosts: [address], extra: cluster }],
    virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }])],
    proxy,
  });
}

describe("HTTP/2 to upstreams", () => {
  it("http2_protocol_options on a cleartext cluster: h2c by prior knowledge, requests multiplexed on one connection, Host as :authority", async () => {
    const address = await startH2Upstream(false, false, 100);
    sy = await startSwitchyard({ config: config(address, { http2_protocol_options: {} }) });
    expect((await send(sy.url, { headers: { host: "api.example" } })).status).toBe(200);
    // Once the connection is up, five requests in flight at once share it.
    const answers = await Promise.all([0, 1, 2, 3, 4].map(() => send(sy!.url, { headers: { host: "api.example" } })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(seen.map((s) => s.version)).toEqual(["2.0", "2.0", "2.0", "2.0", "2.0", "2.0"]);
    expect(seen[0]!.authority).toBe("api.example");
    expect(sessions).toBe(1);
  });

  it("the listener's upstream_protocol Http2 does the same for every cluster it routes to", async () => {
    const address = await startH2Upstream(false);
    sy = await startSwitchyard({ config: config(address, {}, { upstream_protocol: "Http2" }) });
    expect((await send(sy.url)).status).toBe(200);
    expect(seen[0]!.version).toBe("2.0");
  });

  it("with tls_context: h2 by ALPN, the certificate verified against ca_cert", async () => {
    const address = await startH2Upstream(true);
    sy = await startSwitchyard({ config: config(address, { http2_protocol_options: {}, tls_context: { status: true, ca_cert: ca.certFile } }) });
    expect((await send(sy.url)).status).toBe(200);
    expect(seen[0]!.version).toBe("2.0");
  });

  it("upstream_protocol Auto: h2 where the TLS handshake agrees on it; without http2_protocol_options a cluster stays HTTP/1.1", async () => {
    const address = await startH2Upstream(true, true);
    sy = await startSwitchyard({ config: config(address, { tls_context: { status: true, ca_cert: ca.certFile } }, { upstream_protocol: "Auto" }) });
    expect((await send(sy.url)).status).toBe(200);
    expect(seen[0]!.version).toBe("2.0");
    await sy.close();
    sy = await startSwitchyard({ config: config(address, { tls_context: { status: true, ca_cert: ca.certFile } }) });
    expect((await send(sy.url)).status).toBe(200);
    expect(seen[1]!.version).toBe("1.1");
  });

  it("HTTP/2 asked for over TLS: ALPN offers h2 alone and concurrent requests share one connection, as h2c's do", async () => {
    const address = await startH2Upstream(true);
    sy = await startSwitchyard({ config: config(address, { http2_protocol_options: {}, tls_context: { status: true, ca_cert: ca.certFile } }) });
    expect((await send(sy.url)).status).toBe(200);
    // Ten requests, each answered only once all ten are at the upstream: all in flight at once.
    gate = { n: 10, waiting: [] };
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(sy!.url)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(seen.map((s) => s.version)).toEqual(Array(11).fill("2.0"));
    expect(sessions).toBe(1);
    expect(connections).toBe(1);
  });

  it("HTTP/2 asked for, an upstream that speaks only HTTP/1.1 over TLS: 503 E_UPSTREAM_TLS, nothing sent in HTTP/1.1", async () => {
    const address = await startHttp1TlsUpstream();
    sy = await startSwitchyard({ config: config(address, { tls_context: { status: true, ca_cert: ca.certFile } }, { upstream_protocol: "Http2" }) });
    const r = await send(sy.url);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString())).toMatchObject({ error: "E_UPSTREAM_TLS", message: expect.stringMatching(/NO_APPLICATION_PROTOCOL/) });
    expect(seen).toEqual([]);
  });

  it("upstream_protocol Auto to an upstream that speaks only HTTP/1.1 over TLS: concurrent requests each on a connection of their own, over HTTP/1.1", async () => {
    const address = await startHttp1TlsUpstream();
    sy = await startSwitchyard({ config: config(address, { tls_context: { status: true, ca_cert: ca.certFile } }, { upstream_protocol: "Auto" }) });
    gate = { n: 5, waiting: [] };
    const answers = await Promise.all(Array.from({ length: 5 }, () => send(sy!.url)));
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(200));
    expect(seen.map((s) => s.version)).toEqual(Array(5).fill("1.1"));
    expect(connections).toBe(5);
  });
});

/** An HTTPS upstream that speaks HTTP/1.1 only (ALPN "http/1.1", node:https's default), gated as the h2 one. */
async function startHttp1TlsUpstream(): Promise<string> {
  const server = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    seen.push({ version: req.httpVersion, host: req.headers.host, authority: undefined });
    req.resume();
    answerWhenGated(() => res.end("ok"));
  });
  upstream = server;
  server.on("secureConnection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// Downstream HTTP/2 (issue 15): h2c by prior knowledge where downstream_protocol is Http2 or Auto, h2 by ALPN on
// a TLS listener, HTTP/1.1 beside it where Auto. Real node:http2 clients. The request path is the one HTTP/1.1
// requests take: :authority routes as Host does and reaches the upstream as Host, the plugins see the same
// headers and give the same answers, whatever the protocol.

import { mkdtemp, rm } from "node:fs/promises";
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeCa, makeLeaf, type Ca, type Pem } from "./helpers/certs.js";
import { send } from "./helpers/front.js";
import { mosnConfig, startSwitchyard, upstreamOf, type RunningSwitchyard } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

let dir: string;
let ca: Ca;
let leaf: Pem;
let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;
const sessions: ClientHttp2Session[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-h2-"));
  ca = await makeCa(dir);
  leaf = await makeLeaf(ca, "server", ["localhost", "127.0.0.1"]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await sy?.close();
  await ups?.close();
  sy = undefined;
  ups = undefined;
});

interface H2Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly alpn: string | undefined;
}

function connect(url: string): ClientHttp2Session {
  const s = url.startsWith("https:") ? http2.connect(url, { ca: ca.cert }) : http2.connect(url);
  s.on("error", () => undefined);
  sessions.push(s);
  return s;
}

function h2(session: ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on("response", (h) => (head = h));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: Buffer.concat(chunks), alpn: session.alpnProtocol }));
    stream.on("error", reject);
    if (body !== undefined) stream.end(body);
  });
}

async function start(downstream: string, tls?: object, plugins?: string[]): Promise<RunningSwitchyard> {
  ups = await startUpstreams(2);
  const config = mosnConfig({
    clusters: [{ name: "c", hosts: [{ address: ups.addresses[0]!, tags: { version: "v1" } }, { address: ups.addresses[1]!, tags: { version: "canary" } }] }],
    virtualHosts: [
      { name: "api", domains: ["api.example"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s", metadata_match: { filter_metadata: { "mosn.lb": { version: "v1" } } } } }] },
      { name: "other", domains: ["other.example"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s", ...(plugins ? { switchyard: { fallback: "any" } } : {}) } }] },
    ],
    proxy: { downstream_protocol: downstream },
    ...(tls ? { tls } : {}),
  });
  return startSwitchyard({ config, ...(plugins ? { plugins } : {}) });
}

describe("h2c by prior knowledge (downstream_protocol Http2)", () => {
  it(":authority picks the virtual host and reaches the HTTP/1.1 upstream as Host; no pseudo-header is forwarded", async () => {
    sy = await start("Http2");
    const s = connect(sy.url);
    const r = await h2(s, { ":method": "POST", ":path": "/items/1?q=2", ":authority": "api.example", "x-trace": "abc", "content-type": "text/plain" }, "hello");
    expect(r.status).toBe(200);
    expect(r.alpn).toBe("h2c");
    const u = upstreamOf(r.body);
    expect(u).toMatchObject({ upstream: "up0", method: "POST", url: "/items/1?q=2" });
    const seen = ups!.list[0]!.requests[0]!;
    expect(seen.headers.host).toBe("api.example");
    expect(seen.headers["x-trace"]).toBe("abc");
    expect(seen.bodyBytes).toBe(5);
    expect(seen.rawHeaders.filter((_, i) => i % 2 === 0).some((n) => n.startsWith(":"))).toBe(false);
    // The access log line is the one an HTTP/1.1 request writes.
    expect(sy.accessLog().at(-1)).toMatchObject({ listener: "main", route: "servers[0].routers[0].virtual_hosts[0].routers[0]", cluster: "c", status: 200, method: "POST", path: "/items/1?q=2" });
    // Several streams on one connection.
    const many = await Promise.all([1, 2, 3].map((i) => h2(s, { ":path": `/m/${i}`, ":authority": "api.example" })));
    expect(many.map((a) => upstreamOf(a.body).url)).toEqual(["/m/1", "/m/2", "/m/3"]);
    // A domain no virtual host serves: the 404 an HTTP/1.1 request gets.
    const none = await h2(s, { ":path": "/", ":authority": "nowhere.example" });
    expect(none.status).toBe(404);
    expect(none.body.toString()).toBe('{"error":"E_NO_ROUTE","message":"no route matches this request"}\n');
  });

  it("an HTTP/1.1 client is not served by an Http2-only listener", async () => {
    sy = await start("Http2");
    await expect(send(sy.url, { headers: { host: "api.example" }, timeoutMs: 2_000 })).rejects.toThrow();
  });
});

describe("Auto: HTTP/1.1 and h2c on one cleartext port", () => {
  it("serves both, with the same answer", async () => {
    sy = await start("Auto");
    const one = await send(sy.url, { path: "/same", headers: { host: "api.example" } });
    const two = await h2(connect(sy.url), { ":path": "/same", ":authority": "api.example" });
    expect(one.status).toBe(200);
    expect(two.status).toBe(200);
    expect(upstreamOf(two.body)).toEqual(upstreamOf(one.body));
  });
});

describe("TLS with ALPN", () => {
  it("Auto on a TLS listener: h2 by ALPN, and http/1.1 for clients that ask for it", async () => {
    sy = await start("Auto", { status: true, cert_chain: leaf.certFile, private_key: leaf.keyFile });
    const r = await h2(connect(sy.url), { ":path": "/tls", ":authority": "api.example" });
    expect(r.alpn).toBe("h2");
    expect(r.status).toBe(200);
    expect(ups!.list[0]!.requests[0]!.headers["x-forwarded-proto"]).toBe("https");
    const h1 = await new Promise<{ status: number; alpn: string | false }>((resolve, reject) => {
      https.get(`${sy!.url}/tls`, { ca: ca.cert, agent: false, servername: "localhost", ALPNProtocols: ["http/1.1"], headers: { host: "api.example" } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, alpn: (res.socket as import("node:tls").TLSSocket).alpnProtocol });
      }).on("error", reject);
    });
    expect(h1).toEqual({ status: 200, alpn: "http/1.1" });
  });
});

describe("the chain sees one request shape", () => {
  it("a plugin answers an HTTP/2 request as it answers the same HTTP/1.1 request", async () => {
    sy = await start("Auto", undefined, ["deny", "header-canary"]);
    const s = connect(sy.url);
    // deny: x-client: bad-bot is refused before any upstream.
    const d1 = await send(sy.url, { headers: { host: "other.example", "x-client": "bad-bot" } });
    const d2 = await h2(s, { ":path": "/", ":authority": "other.example", "x-client": "bad-bot" });
    expect([d2.status, d2.body.toString()]).toEqual([d1.status, d1.body.toString()]);
    expect(d2.status).toBe(403);
    // header-canary: x-canary: 1 goes to the canary host (up1), over either protocol.
    const c1 = await send(sy.url, { headers: { host: "other.example", "x-canary": "1" } });
    const c2 = await h2(s, { ":path": "/", ":authority": "other.example", "x-canary": "1" });
    expect(upstreamOf(c1.body).upstream).toBe("up1");
    expect(upstreamOf(c2.body).upstream).toBe("up1");
    const chains = sy.accessLog().map((l) => l.chain);
    expect(chains.slice(-4)).toEqual([chains.at(-4), chains.at(-4), chains.at(-2), chains.at(-2)]);
  });
});

// Several certificates on one TLS listener (issue 15): MOSN's tls_context_set, each context chosen by the client's
// SNI through its server_name or its certificate's names (exact, then the closest wildcard), the first when the
// SNI matches none or is absent. Real TLS clients (node:tls, node:https, node:http2) connect to 127.0.0.1 with
// different servernames (SNI strings only, never resolved) and check which certificate they got; each context's
// files are watched and reloaded on their own, a bad one refused while the others and its old one keep serving.

import { once } from "node:events";
import { X509Certificate } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http2 from "node:http2";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls, { type TLSSocket } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import type { SwitchyardHost } from "../host/server/host.js";
import type { ReloadOutcome } from "../host/server/tls-credentials.js";
import { makeCa, makeLeaf, type Ca, type Pem } from "./helpers/certs.js";
import { configProblems } from "./helpers/config-problems.js";
import { anyHost, mosnConfig, startSwitchyard, upstreamOf, type RunningSwitchyard } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

let dir: string;
let ca: Ca;
let fallback: Pem;
let alpha: Pem;
let wild: Pem;
let renewed: Pem;
let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-sni-"));
  ca = await makeCa(dir);
  fallback = await makeLeaf(ca, "fallback", ["fallback.example.test", "127.0.0.1"]);
  alpha = await makeLeaf(ca, "alpha", ["a.example.test"]);
  wild = await makeLeaf(ca, "wild", ["*.w.example.test"]);
  renewed = await makeLeaf(ca, "renewed", ["a.example.test"]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await sy?.close();
  await ups?.close();
  sy = undefined;
  ups = undefined;
});

const at = "servers[0].listeners[0].filter_chains[0].tls_context_set";

/** A config whose one listener has `set` as its filter chain's tls_context_set. */
function sniConfig(set: unknown, proxy: object = {}, hosts: readonly string[] = ups?.addresses ?? ["127.0.0.1:1"]): object {
  const cfg = mosnConfig({
    clusters: [{ name: "c", hosts: [...hosts] }],
    virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }])],
    proxy,
  }) as { servers: { listeners: { filter_chains: Record<string, unknown>[] }[] }[] };
  cfg.servers[0]!.listeners[0]!.filter_chains[0]!["tls_context_set"] = set;
  return cfg;
}

const context = (p: Pem, extra: object = {}) => ({ status: true, cert_chain: p.certFile, private_key: p.keyFile, ...extra });

/** The CN of the certificate a TLS handshake with `servername` (none: no SNI) gets, the ALPN agreed too. */
async function handshake(port: number, servername: string | undefined, alpn = ["http/1.1"]): Promise<{ cn: string; alpn: string | false }> {
  const socket = tls.connect({ host: "127.0.0.1", port, ca: ca.cert, ALPNProtocols: alpn, ...(servername !== undefined ? { servername } : {}), checkServerIdentity: () => undefined });
  await once(socket, "secureConnect");
  const out = { cn: socket.getPeerCertificate().subject.CN as string, alpn: socket.alpnProtocol };
  socket.destroy();
  return out;
}

/** An HTTPS request with SNI `servername`, its certificate's name checked by node:https as any client does. */
function httpsGet(port: number, servername: string): Promise<{ status: number; cn: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path: "/hello", servername, ca: ca.cert, agent: false, headers: { host: servername } }, (res) => {
      const cn = (res.socket as TLSSocket).getPeerCertificate().subject.CN as string;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, cn, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** An h2 request with SNI `servername`. */
async function h2Get(port: number, servername: string): Promise<{ status: number; cn: string; body: Buffer }> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { servername, ca: ca.cert });
  try {
    await once(session, "connect");
    const cn = (session.socket as TLSSocket).getPeerCertificate().subject.CN as string;
    const stream = session.request({ ":path": "/hello", ":authority": servername });
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return { status: Number(headers[":status"]), cn, body: Buffer.concat(chunks) };
  } finally {
    session.close();
  }
}

function nextReload(host: SwitchyardHost): Promise<{ outcome: ReloadOutcome; index: number }> {
  return once(host.events, "certificate-reload").then((args) => ({ outcome: args[1] as ReloadOutcome, index: args[2] as number }));
}

describe("tls_context_set", () => {
  it("chooses the certificate by SNI: server_name, the certificate's names, wildcards; the first for no SNI or no match", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: sniConfig([context(fallback), context(alpha, { server_name: "alias.example.test" }), context(wild)]) });
    const port = Number(new URL(sy.url).port);
    const cn = async (sn: string | undefined) => (await handshake(port, sn)).cn;
    expect(await cn("a.example.test")).toBe("a.example.test"); // the certificate's own name
    expect(await cn("alias.example.test")).toBe("a.example.test"); // the context's server_name
    expect(await cn("A.Example.TEST.")).toBe("a.example.test"); // case and a trailing dot do not matter
    expect(await cn("x.w.example.test")).toBe("*.w.example.test");
    expect(await cn("deep.x.w.example.test")).toBe("*.w.example.test"); // MOSN's wildcards reach any depth
    expect(await cn("w.example.test")).toBe("fallback.example.test"); // "*.w" does not cover "w" itself
    expect(await cn("other.test")).toBe("fallback.example.test");
    expect(await cn(undefined)).toBe("fallback.example.test");
    expect(sy.logs.filter((l) => l.msg === "listener serves TLS").map((l) => [l.context, l.names])).toEqual([
      [0, ["fallback.example.test"]], [1, ["a.example.test"]], [2, ["*.w.example.test"]],
    ]);
  });

  it("an exact name of a later context beats a wildcard of an earlier one", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: sniConfig([context(fallback), context(wild), context(alpha, { server_name: "exact.w.example.test" })]) });
    const port = Number(new URL(sy.url).port);
    expect((await handshake(port, "exact.w.example.test")).cn).toBe("a.example.test");
    expect((await handshake(port, "other.w.example.test")).cn).toBe("*.w.example.test");
  });

  it("serves each SNI its certificate over HTTP/1.1 and h2 (ALPN), the same route either way", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: sniConfig([context(fallback), context(alpha), context(wild)], { downstream_protocol: "Auto" }) });
    const port = Number(new URL(sy.url).port);
    for (const [sn, expected] of [["a.example.test", "a.example.test"], ["x.w.example.test", "*.w.example.test"], ["fallback.example.test", "fallback.example.test"]] as const) {
      const h1 = await httpsGet(port, sn);
      expect([h1.status, h1.cn]).toEqual([200, expected]);
      expect(upstreamOf(h1.body)).toMatchObject({ upstream: "up0", url: "/hello" });
      const h2 = await h2Get(port, sn);
      expect([h2.status, h2.cn]).toEqual([200, expected]);
      expect(upstreamOf(h2.body)).toMatchObject({ upstream: "up0", url: "/hello" });
    }
    expect(await handshake(port, "a.example.test", ["h2"])).toEqual({ cn: "a.example.test", alpn: "h2" });
    expect(ups.list[0]!.requests.map((r) => r.headers.host)).toEqual(["a.example.test", "a.example.test", "x.w.example.test", "x.w.example.test", "fallback.example.test", "fallback.example.test"]);
  });

  it("reloads each context's files on their own; a bad file is refused naming the context and the file, its old certificate and the others keep serving", async () => {
    ups = await startUpstreams(1);
    const cert = join(dir, "live-a.crt");
    const key = join(dir, "live-a.key");
    await copyFile(alpha.certFile, cert);
    await copyFile(alpha.keyFile, key);
    const live = { status: true, cert_chain: cert, private_key: key };
    sy = await startSwitchyard({ config: sniConfig([context(fallback), live]), certificateTiming: { pollMs: 20, debounceMs: 50 } });
    const port = Number(new URL(sy.url).port);
    const fingerprint = async (sn: string) => {
      const s = tls.connect({ host: "127.0.0.1", port, ca: ca.cert, servername: sn, checkServerIdentity: () => undefined });
      await once(s, "secureConnect");
      const f = s.getPeerCertificate().fingerprint256;
      s.destroy();
      return f;
    };
    const fp = (p: Pem) => new X509Certificate(p.cert).fingerprint256;
    expect(await fingerprint("a.example.test")).toBe(fp(alpha));

    let reloaded = nextReload(sy.host);
    await writeFile(key, renewed.key);
    await writeFile(cert, renewed.cert);
    expect(await reloaded).toMatchObject({ index: 1, outcome: { kind: "reloaded" } });
    expect(await fingerprint("a.example.test")).toBe(fp(renewed));
    expect(await fingerprint("other.test")).toBe(fp(fallback));

    reloaded = nextReload(sy.host);
    await writeFile(cert, "not a certificate\n");
    const refused = await reloaded;
    expect(refused).toMatchObject({ index: 1, outcome: { kind: "refused", error: { code: "E_TLS_CREDENTIALS" } } });
    expect((refused.outcome as { error: Error }).error.message).toBe(`${at}[1]: cert_chain ${cert} is not a PEM certificate: ${(refused.outcome as { error: { cause: Error } }).error.cause.message}`);
    expect(sy.logs.find((l) => l.event === "certificate-refused")).toMatchObject({ level: 50, listener: "main", context: 1, msg: "new listener certificate refused; the previous one keeps serving" });
    expect(await fingerprint("a.example.test")).toBe(fp(renewed));
    expect((await httpsGet(port, "a.example.test")).status).toBe(200);
    expect(await fingerprint("other.test")).toBe(fp(fallback));
    const scrape = (await sy.host.metrics.scrape()).body;
    expect(scrape).toContain('switchyard_tls_certificate_reloads_total{listener="main",outcome="reloaded"} 1');
    expect(scrape).toContain('switchyard_tls_certificate_reloads_total{listener="main",outcome="refused"} 1');
  });

  it("a context whose file cannot be read stops the start, naming its index and the file", async () => {
    const missing = join(dir, "nope.crt");
    await expect(startSwitchyard({ config: sniConfig([context(fallback), { status: true, cert_chain: missing, private_key: alpha.keyFile }]) })).rejects.toMatchObject({
      code: "E_TLS_CREDENTIALS",
      message: expect.stringContaining(`${at}[1]: cert_chain ${missing} cannot be read`),
    });
  });

  it("config errors name their JSON path; contexts with status false are skipped", () => {
    const problems = (set: unknown) => configProblems(sniConfig(set));
    expect(problems([])).toEqual([`${at}: expected at least one tls_context`]);
    expect(problems({ status: true })).toEqual([`${at}: expected an array of tls_context objects, got an object`]);
    expect(problems([context(fallback, { server_name: "x.example.test" }), context(alpha, { server_name: "X.example.test" })])).toEqual([
      `${at}[1].server_name: "x.example.test" is already the server_name of ${at}[0]: a name picks one certificate`,
    ]);
    expect(problems([context(fallback, { server_name: "bad name" })])).toEqual([`${at}[0].server_name: expected a host name or a wildcard such as "*.example.com", got "bad name"`]);
    expect(problems([context(fallback), context(alpha, { verify_client: true, ca_cert: ca.certFile })])).toEqual([
      `${at}[1]: verify_client, require_client_cert and ca_cert must be the same in every context of a tls_context_set (they differ from ${at}[0]): client certificates are asked for before the SNI picks a context`,
    ]);
    expect(problems([{ status: true }])).toEqual([
      `${at}[0].cert_chain: required with status true: the certificate chain this listener serves (a PEM or a file path)`,
      `${at}[0].private_key: required with status true: the certificate's private key (a PEM or a file path)`,
    ]);
    const both = sniConfig([context(fallback)]) as { servers: { listeners: { filter_chains: Record<string, unknown>[] }[] }[] };
    both.servers[0]!.listeners[0]!.filter_chains[0]!["tls_context"] = context(alpha);
    expect(configProblems(both)).toEqual([`${at}: a listener has one tls_context or tls_context_set; another is at servers[0].listeners[0].filter_chains[0].tls_context`]);

    const { config, warnings } = parseConfig(JSON.stringify(sniConfig([{ status: false, cert_chain: "x" }, context(alpha, { server_name: "*.Example.test" })])), "/etc/switchyard/c.json");
    expect(config.listeners[0]!.tlsContexts.map((t) => [t.where, t.serverName])).toEqual([[`${at}[1]`, "*.example.test"]]);
    expect(config.listeners[0]!.tls!.where).toBe(`${at}[1]`);
    expect(warnings.filter((w) => w.path.includes("tls_context_set"))).toEqual([]);
  });

  it("the tour's config (docs/config.md, examples/configs/tls-grpc.json) serves api.crt for *.api.localhost and server.crt otherwise, over h2 and HTTP/1.1", async () => {
    ups = await startUpstreams(1);
    // The tour's certificates, made as its openssl commands make them, in a folder of the test's own.
    const certs = join(dir, "tour", "certs");
    await mkdir(certs, { recursive: true });
    const tourCa = await makeCa(certs, "ca");
    await makeLeaf(tourCa, "server", ["localhost", "127.0.0.1"]);
    await makeLeaf(tourCa, "api", ["*.api.localhost"]);
    const text = (await readFile(new URL("../examples/configs/tls-grpc.json", import.meta.url), "utf8"))
      .replaceAll('"certs/', `"${certs}/`)
      .replace(/"127\.0\.0\.1:(8443|8081)"/g, '"127.0.0.1:0"')
      .replace('"127.0.0.1:9443"', JSON.stringify(ups.addresses[0]));
    const tourConfig = JSON.parse(text) as { cluster_manager: { clusters: Record<string, unknown>[] } };
    delete tourConfig.cluster_manager.clusters[0]!["tls_context"]; // the web cluster's hosts: the test's cleartext upstream
    sy = await startSwitchyard({ config: tourConfig });
    const port = Number(new URL(sy.url).port);
    const trust = { ca: tourCa.cert };
    const got = async (sn: string | undefined, alpn: string[]) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ...trust, ALPNProtocols: alpn, ...(sn !== undefined ? { servername: sn } : {}) });
      await once(socket, "secureConnect");
      const out = [socket.getPeerCertificate().subject.CN, socket.alpnProtocol];
      socket.destroy();
      return out;
    };
    expect(await got("v1.api.localhost", ["h2", "http/1.1"])).toEqual(["*.api.localhost", "h2"]);
    expect(await got("v1.api.localhost", ["http/1.1"])).toEqual(["*.api.localhost", "http/1.1"]);
    expect(await got("localhost", ["h2", "http/1.1"])).toEqual(["localhost", "h2"]);
    expect(await got(undefined, ["http/1.1"])).toEqual(["localhost", "http/1.1"]);
  });
});

// Upstream TLS (issue 15): a cluster with MOSN's tls_context is spoken to over TLS, verifying the upstream's
// certificate against ca_cert and the name asked for (server_name) unless insecure_skip; with cert_chain and
// private_key it presents a client certificate. A real node:https upstream with a certificate made by openssl;
// a wrong CA or a wrong name fails as a connect failure does (503, E_UPSTREAM_TLS with node:tls's reason).

import { once } from "node:events";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeCa, makeLeaf, type Ca, type Pem } from "./helpers/certs.js";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";

let dir: string;
let ca: Ca;
let otherCa: Ca;
let serverLeaf: Pem;
let clientLeaf: Pem;
let sy: RunningSwitchyard | undefined;
let upstream: https.Server | undefined;

interface Seen {
  servername: string | false;
  clientCn: string | null;
  path: string;
}
const seen: Seen[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-tls-up-"));
  ca = await makeCa(dir);
  otherCa = await makeCa(dir, "other-ca");
  serverLeaf = await makeLeaf(ca, "upstream", ["api.internal", "127.0.0.1"]);
  clientLeaf = await makeLeaf(ca, "client", ["switchyard-client"], { clientAuth: true });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await sy?.close();
  sy = undefined;
  if (upstream) {
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream!.close(() => resolve()));
  }
  upstream = undefined;
  seen.length = 0;
});

/** An HTTPS upstream on 127.0.0.1 serving `serverLeaf`; with `requireClientCert`, only clients `ca` signed. */
async function startTlsUpstream(requireClientCert = false): Promise<string> {
  upstream = https.createServer({ cert: serverLeaf.cert, key: serverLeaf.key, ...(requireClientCert ? { ca: ca.cert, requestCert: true, rejectUnauthorized: true } : {}) }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    seen.push({ servername: socket.servername, clientCn: peer && peer.subject ? peer.subject.CN : null, path: req.url ?? "" });
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ tls: socket.encrypted === true }));
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  return `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

async function proxyTo(address: string, tls: object, retry = false): Promise<RunningSwitchyard> {
  return startSwitchyard({
    config: mosnConfig({
      clusters: [{ name: "secure", hosts: [address], extra: { tls_context: tls } }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "secure", timeout: "5s", ...(retry ? { retry_policy: { retry_on: true, num_retries: 1 } } : {}) } }])],
    }),
  });
}

describe("a cluster with tls_context", () => {
  it("speaks TLS to its hosts, verifying their certificate against ca_cert", async () => {
    const address = await startTlsUpstream();
    sy = await proxyTo(address, { status: true, ca_cert: ca.certFile });
    const r = await send(sy.url, { path: "/over-tls" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ tls: true });
    expect(seen).toEqual([{ servername: false, clientCn: null, path: "/over-tls" }]);
  });

  it("sends server_name as SNI and checks the certificate carries it", async () => {
    const address = await startTlsUpstream();
    sy = await proxyTo(address, { status: true, ca_cert: ca.cert, server_name: "api.internal" });
    expect((await send(sy.url)).status).toBe(200);
    expect(seen[0]!.servername).toBe("api.internal");
  });

  it("a CA that did not sign the upstream's certificate: 503 E_UPSTREAM_TLS, the request never reaches it", async () => {
    const address = await startTlsUpstream();
    sy = await proxyTo(address, { status: true, ca_cert: otherCa.certFile });
    const r = await send(sy.url);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString())).toEqual({ error: "E_UPSTREAM_TLS", message: expect.stringMatching(new RegExp(`^TLS handshake with upstream ${address} failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE`)) });
    expect(seen).toEqual([]);
    expect(sy.accessLog().at(-1)).toMatchObject({ status: 503, reason: "E_UPSTREAM_TLS", upstream: address });
  });

  it("a server_name the certificate does not carry: 503 E_UPSTREAM_TLS (ERR_TLS_CERT_ALTNAME_INVALID)", async () => {
    const address = await startTlsUpstream();
    sy = await proxyTo(address, { status: true, ca_cert: ca.certFile, server_name: "wrong.example" });
    const r = await send(sy.url);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(seen).toEqual([]);
  });

  it("verification is on by default (Node's public CAs do not know the test CA); insecure_skip turns it off", async () => {
    const address = await startTlsUpstream();
    sy = await proxyTo(address, { status: true });
    expect(JSON.parse((await send(sy.url)).body.toString())).toMatchObject({ error: "E_UPSTREAM_TLS" });
    await sy.close();
    sy = await proxyTo(address, { status: true, insecure_skip: true });
    expect((await send(sy.url)).status).toBe(200);
  });

  it("presents cert_chain and private_key as a client certificate to an upstream that requires one", async () => {
    const address = await startTlsUpstream(true);
    sy = await proxyTo(address, { status: true, ca_cert: ca.certFile, cert_chain: clientLeaf.certFile, private_key: clientLeaf.keyFile });
    expect((await send(sy.url)).status).toBe(200);
    expect(seen[0]!.clientCn).toBe("switchyard-client");
  });

  it("a cleartext upstream behind a TLS cluster fails the handshake: 503 E_UPSTREAM_TLS", async () => {
    const plain = await import("./helpers/upstreams.js").then((m) => m.startUpstreams(1));
    try {
      sy = await proxyTo(plain.addresses[0]!, { status: true, ca_cert: ca.certFile });
      const r = await send(sy.url);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body.toString()).message).toMatch(/ERR_SSL_/);
    } finally {
      await sy?.close();
      sy = undefined;
      await plain.close();
    }
  });

  it("a ca_cert file that cannot be read stops the start with E_TLS_CREDENTIALS naming the cluster's tls_context", async () => {
    await expect(proxyTo("127.0.0.1:1", { status: true, ca_cert: join(dir, "missing.crt") })).rejects.toMatchObject({
      code: "E_TLS_CREDENTIALS",
      message: expect.stringMatching(/^cluster_manager\.clusters\[0\]\.tls_context: ca_cert .*missing\.crt cannot be read/),
    });
    await expect(proxyTo("127.0.0.1:1", { status: true, ca_cert: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n" })).rejects.toMatchObject({
      code: "E_TLS_CREDENTIALS",
      message: expect.stringMatching(/ca_cert \(inline PEM\) cannot be used/),
    });
  });

  it("a config reload that changes a cluster's ca_cert reaches the pool it already has: its next connection verifies against the new CA", async () => {
    const address = await startTlsUpstream();
    const config = (caCert: string) =>
      mosnConfig({
        clusters: [{ name: "secure", hosts: [address], extra: { tls_context: { status: true, ca_cert: caCert } } }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "secure", timeout: "5s" } }])],
      });
    sy = await startSwitchyard({ config: config(ca.certFile) });
    expect((await send(sy.url)).status).toBe(200);
    // The upstream is re-issued by another CA and drops its connections; the config names that CA's file now.
    const reissued = await makeLeaf(otherCa, "reissued", ["127.0.0.1"]);
    upstream!.setSecureContext({ cert: reissued.cert, key: reissued.key });
    upstream!.closeAllConnections();
    expect(await sy.reload(config(otherCa.certFile))).toMatchObject({ ok: true });
    const after = await send(sy.url);
    expect([after.status, after.body.toString()]).toEqual([200, JSON.stringify({ tls: true })]);
    // And back: a reload to the first CA is refused by the re-issued upstream's certificate, so the reload did reach it.
    upstream!.closeAllConnections();
    expect(await sy.reload(config(ca.certFile))).toMatchObject({ ok: true });
    expect((await send(sy.url)).status).toBe(503);
  });

  it("a rewritten ca_cert file is used by new connections without a restart or reload; a broken one is refused, the previous CA stays", async () => {
    const address = await startTlsUpstream();
    const caFile = join(dir, "live-ca.crt");
    await copyFile(ca.certFile, caFile);
    sy = await startSwitchyard({
      config: mosnConfig({
        clusters: [{ name: "secure", hosts: [address], extra: { tls_context: { status: true, ca_cert: caFile } } }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "secure", timeout: "5s" } }])],
      }),
      certificateTiming: { pollMs: 20, debounceMs: 50 },
    });
    expect((await send(sy.url)).status).toBe(200);
    const nextReload = () => once(sy!.host.events, "upstream-tls-reload").then((a) => a as [string, { kind: string; error?: Error }]);

    // The upstream's certificate is re-issued by another CA; its open connections end, so the next request connects anew.
    const reissued = await makeLeaf(otherCa, "reissued", ["127.0.0.1"]);
    upstream!.setSecureContext({ cert: reissued.cert, key: reissued.key });
    upstream!.closeAllConnections();
    const reloaded = nextReload();
    await writeFile(caFile, otherCa.cert);
    expect(await reloaded).toEqual(["secure", { kind: "reloaded" }]);
    expect((await send(sy.url)).status).toBe(200);

    const refused = nextReload();
    await writeFile(caFile, "not a certificate\n");
    const [cluster, outcome] = await refused;
    expect(cluster).toBe("secure");
    expect(outcome).toMatchObject({ kind: "refused", error: { code: "E_TLS_CREDENTIALS", message: `cluster_manager.clusters[0].tls_context: ca_cert ${caFile} cannot be used: no PEM certificate in it` } });
    expect(sy.logs.find((l) => l.event === "upstream-tls-refused")).toMatchObject({ level: 50, cluster: "secure", msg: "new cluster TLS files refused; the previous ones stay in use" });
    upstream!.closeAllConnections();
    expect((await send(sy.url)).status).toBe(200);
    const scrape = (await sy.host.metrics.scrape()).body;
    expect(scrape).toContain('switchyard_upstream_tls_reloads_total{cluster="secure",outcome="reloaded"} 1');
    expect(scrape).toContain('switchyard_upstream_tls_reloads_total{cluster="secure",outcome="refused"} 1');
  });
});

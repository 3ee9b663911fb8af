// Downstream TLS (issue 15): a listener whose filter chain has MOSN's tls_context serves HTTPS with the
// certificate of its files (or inline PEMs), made here by openssl under a test CA and checked by real TLS
// clients; the files replaced while it runs are served from the next handshake on, and a bad new pair is
// refused with a log line while the old one keeps serving.

import { once } from "node:events";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import type { ReloadOutcome } from "../host/server/tls-credentials.js";
import { configProblems } from "./helpers/config-problems.js";
import { makeCa, makeLeaf, type Ca, type Pem } from "./helpers/certs.js";
import { anyHost, mosnConfig, startSwitchyard, upstreamOf, type RunningSwitchyard } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

let dir: string;
let ca: Ca;
let leafA: Pem;
let leafB: Pem;
let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-tls-"));
  ca = await makeCa(dir);
  leafA = await makeLeaf(ca, "a", ["localhost", "127.0.0.1"]);
  leafB = await makeLeaf(ca, "b", ["localhost", "127.0.0.1"]);
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

interface Answer {
  readonly status: number;
  readonly body: Buffer;
  /** sha256 of the certificate the server presented, hex lowercase without colons. */
  readonly fingerprint: string;
  readonly protocol: string | null;
}

/** One HTTPS request on a new connection (no agent), trusting `trust`. */
function get(url: string, trust: string | undefined, path = "/"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}${path}`, { agent: false, ...(trust === undefined ? {} : { ca: trust }) }, (res) => {
      const socket = res.socket as TLSSocket;
      const fingerprint = socket.getPeerCertificate().fingerprint256.replaceAll(":", "").toLowerCase();
      const protocol = socket.alpnProtocol || null;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), fingerprint, protocol }));
    });
    req.on("error", reject);
    req.end();
  });
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(":", "").toLowerCase();
}

function tlsConfig(tls: object) {
  return mosnConfig({
    clusters: [{ name: "c", hosts: ups!.addresses }],
    virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }])],
    tls,
  });
}

function nextReload(host: SwitchyardHost): Promise<ReloadOutcome> {
  return once(host.events, "certificate-reload").then((args) => args[1] as ReloadOutcome);
}

describe("a TLS listener", () => {
  it("serves the tls_context's certificate files over HTTPS; the upstream sees x-forwarded-proto https", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: tlsConfig({ status: true, cert_chain: leafA.certFile, private_key: leafA.keyFile }) });
    expect(sy.url).toMatch(/^https:/);
    const r = await get(sy.url, ca.cert, "/hello");
    expect(r.status).toBe(200);
    expect(upstreamOf(r.body)).toMatchObject({ upstream: "up0", url: "/hello" });
    expect(r.fingerprint).toBe(fingerprintOf(leafA.cert));
    expect(ups.list[0]!.requests[0]!.headers["x-forwarded-proto"]).toBe("https");
    // A client that does not trust the test CA refuses the certificate: the listener really speaks TLS.
    await expect(get(sy.url, undefined)).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  });

  it("takes inline PEMs (a value containing -----BEGIN, as MOSN reads it)", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: tlsConfig({ status: true, cert_chain: leafB.cert, private_key: leafB.key }) });
    const r = await get(sy.url, ca.cert);
    expect(r.status).toBe(200);
    expect(r.fingerprint).toBe(fingerprintOf(leafB.cert));
  });

  it("status false (MOSN's default) serves cleartext HTTP", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: tlsConfig({ status: false, cert_chain: "/nonexistent.crt", private_key: "/nonexistent.key" }) });
    expect(sy.url).toMatch(/^http:/);
  });

  it("serves a renewed certificate from the next handshake without a restart; a bad new pair is refused and the old one keeps serving", async () => {
    ups = await startUpstreams(1);
    const cert = join(dir, "live.crt");
    const key = join(dir, "live.key");
    await copyFile(leafA.certFile, cert);
    await copyFile(leafA.keyFile, key);
    sy = await startSwitchyard({ config: tlsConfig({ status: true, cert_chain: cert, private_key: key }), certificateTiming: { pollMs: 20, debounceMs: 50 } });
    expect((await get(sy.url, ca.cert)).fingerprint).toBe(fingerprintOf(leafA.cert));

    let reloaded = nextReload(sy.host);
    // Written one after the other, as a renewal tool does: the debounce takes them as one change.
    await writeFile(key, leafB.key);
    await writeFile(cert, leafB.cert);
    expect(await reloaded).toEqual({ kind: "reloaded", fingerprint: fingerprintOf(leafB.cert) });
    expect((await get(sy.url, ca.cert)).fingerprint).toBe(fingerprintOf(leafB.cert));

    // A key that is not the certificate's: refused, leaf B keeps serving.
    reloaded = nextReload(sy.host);
    await writeFile(key, leafA.key);
    const refused = await reloaded;
    expect(refused).toMatchObject({ kind: "refused", error: { code: "E_TLS_CREDENTIALS" } });
    expect((refused as { error: Error }).error.message).toMatch(/cannot be used together/);
    expect(sy.logs.find((l) => l.event === "certificate-refused")).toMatchObject({ level: 50, listener: "main", code: "E_TLS_CREDENTIALS", msg: "new listener certificate refused; the previous one keeps serving" });
    expect((await get(sy.url, ca.cert)).fingerprint).toBe(fingerprintOf(leafB.cert));

    // Garbage in the certificate file: refused too.
    reloaded = nextReload(sy.host);
    await writeFile(cert, "not a certificate\n");
    expect(await reloaded).toMatchObject({ kind: "refused", error: { message: expect.stringMatching(/is not a PEM certificate/) } });
    expect((await get(sy.url, ca.cert)).status).toBe(200);

    // Fixed: served again.
    reloaded = nextReload(sy.host);
    await writeFile(cert, leafA.cert);
    expect(await reloaded).toEqual({ kind: "reloaded", fingerprint: fingerprintOf(leafA.cert) });
    expect((await get(sy.url, ca.cert)).fingerprint).toBe(fingerprintOf(leafA.cert));

    const scrape = (await sy.host.metrics.scrape()).body;
    expect(scrape).toContain('switchyard_tls_certificate_reloads_total{listener="main",outcome="reloaded"} 2');
    expect(scrape).toContain('switchyard_tls_certificate_reloads_total{listener="main",outcome="refused"} 2');
  });

  it("a handshake that fails is counted as a close of the listener", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: tlsConfig({ status: true, cert_chain: leafA.certFile, private_key: leafA.keyFile }) });
    await expect(get(sy.url, undefined)).rejects.toThrow();
    await expect.poll(async () => (await sy!.host.metrics.scrape()).body).toContain('switchyard_listener_connections_closed_total{listener="main",reason="tls_handshake_failed"} 1');
  });
});

describe("bad TLS config", () => {
  it("a missing or unusable file stops the start with E_TLS_CREDENTIALS naming the tls_context", async () => {
    ups = await startUpstreams(1);
    const missing = tlsConfig({ status: true, cert_chain: join(dir, "nope.crt"), private_key: leafA.keyFile });
    await expect(startSwitchyard({ config: missing })).rejects.toMatchObject({
      code: "E_TLS_CREDENTIALS",
      message: expect.stringMatching(/^servers\[0\]\.listeners\[0\]\.filter_chains\[0\]\.tls_context: cert_chain .*nope\.crt cannot be read/),
    });
    const mismatched = tlsConfig({ status: true, cert_chain: leafA.certFile, private_key: leafB.keyFile });
    await expect(startSwitchyard({ config: mismatched })).rejects.toMatchObject({ code: "E_TLS_CREDENTIALS", message: expect.stringMatching(/cannot be used together/) });
  });

  it("status true without a certificate, client verification asked for, two tls_contexts: config errors with their paths", () => {
    ups = undefined;
    const problems = (cfg: object) => configProblems(cfg, "tls.json");
    const base = (tls: object) => mosnConfig({ clusters: [{ name: "c", hosts: ["127.0.0.1:1"] }], virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c" } }])], tls });
    const at = "servers[0].listeners[0].filter_chains[0].tls_context";
    expect(problems(base({ status: true }))).toEqual([
      `${at}.cert_chain: required with status true: the certificate chain this listener serves (a PEM or a file path)`,
      `${at}.private_key: required with status true: the certificate's private key (a PEM or a file path)`,
    ]);
    // verify_client and require_client_cert: test/tls-client-certs.test.ts.
    expect(problems(base({ status: "yes", cert_chain: "a.crt" }))).toEqual([`${at}.status: expected true or false, got the string \"yes\"`]);
    const two = base({ status: true, cert_chain: "a.crt", private_key: "a.key" }) as { servers: { listeners: { filter_chains: object[] }[] }[] };
    two.servers[0]!.listeners[0]!.filter_chains.push({ tls_context: { status: true }, filters: [] });
    expect(problems(two)).toContain("servers[0].listeners[0].filter_chains[1].tls_context: a listener has one tls_context or tls_context_set; another is at servers[0].listeners[0].filter_chains[0].tls_context");
    // Relative paths are resolved against the config file's folder.
    const { config } = parseConfig(JSON.stringify(base({ status: true, cert_chain: "certs/a.crt", private_key: "certs/a.key" })), "/etc/switchyard/config.json");
    expect(config.listeners[0]!.tls).toMatchObject({ certChain: { kind: "file", path: "/etc/switchyard/certs/a.crt" }, privateKey: { kind: "file", path: "/etc/switchyard/certs/a.key" } });
  });
});

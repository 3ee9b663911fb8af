// Client certificates on a TLS listener (issue 15): MOSN's verify_client with ca_cert accepts only clients whose
// certificate chains to that CA, checked in the handshake; require_client_cert alone accepts any certificate and
// closes a client that sent none. Real TLS clients (node:https, node:http2) with certificates openssl made under
// two unrelated test CAs; the CA file replaced while the host runs is trusted from the next handshake on.

import { once } from "node:events";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import https from "node:https";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ReloadOutcome } from "../host/server/tls-credentials.js";
import { configProblems } from "./helpers/config-problems.js";
import { makeCa, makeLeaf, type Ca, type Pem } from "./helpers/certs.js";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

let dir: string;
let serverCa: Ca;
let server: Pem;
let clientCa: Ca;
let client: Pem;
let strangerCa: Ca;
let stranger: Pem;
let ups: Upstreams | undefined;
let sy: RunningSwitchyard | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-mtls-"));
  serverCa = await makeCa(dir, "server-ca");
  server = await makeLeaf(serverCa, "server", ["localhost", "127.0.0.1"]);
  clientCa = await makeCa(dir, "client-ca");
  client = await makeLeaf(clientCa, "client", ["tenant-a"], { clientAuth: true });
  strangerCa = await makeCa(dir, "stranger-ca");
  stranger = await makeLeaf(strangerCa, "stranger", ["tenant-x"], { clientAuth: true });
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

/** One HTTPS request on a new connection, presenting `cert` (or no certificate); the status, or the error's code. */
function get(url: string, cert: Pem | null): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.request(url, { agent: false, ca: serverCa.cert, ...(cert === null ? {} : { cert: cert.cert, key: cert.key }) }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

/** The same over HTTP/2 (ALPN h2). */
function get2(url: string, cert: Pem | null): Promise<number | string> {
  return new Promise((resolve) => {
    const s = http2.connect(url, { ca: serverCa.cert, ...(cert === null ? {} : { cert: cert.cert, key: cert.key }) });
    const done = (v: number | string) => {
      s.destroy();
      resolve(v);
    };
    s.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    s.on("close", () => done("closed"));
    const st = s.request({ ":path": "/" });
    let status = 0;
    st.on("response", (h) => (status = Number(h[":status"])));
    st.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    st.resume();
    st.on("end", () => done(status));
  });
}

function config(tls: object, protocol = "Http1") {
  return mosnConfig({
    clusters: [{ name: "c", hosts: ups!.addresses }],
    virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }])],
    tls: { status: true, cert_chain: server.certFile, private_key: server.keyFile, ...tls },
    proxy: { downstream_protocol: protocol },
  });
}

async function closes(reason: string): Promise<number> {
  const text = (await sy!.host.metrics.scrape()).body;
  const m = new RegExp(`switchyard_listener_connections_closed_total\\{listener="main",reason="${reason}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

describe("verify_client", () => {
  it("HTTP/1.1: a client certificate from ca_cert's CA is served; none, or one from another CA, fails the handshake, counted", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: config({ verify_client: true, ca_cert: clientCa.certFile }) });
    expect(await get(sy.url, client)).toBe(200);
    expect(ups.list[0]!.requests).toHaveLength(1);
    // TLS 1.3 tells a refused client certificate after the handshake, as an alert: the request fails, whatever its code.
    expect(await get(sy.url, null)).not.toBe(200);
    expect(await get(sy.url, stranger)).not.toBe(200);
    expect(ups.list[0]!.requests).toHaveLength(1);
    expect(await closes("tls_handshake_failed")).toBe(2);
    expect(await get(sy.url, client)).toBe(200);
  });

  it("HTTP/2 over TLS (ALPN h2) checks the same way", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: config({ verify_client: true, ca_cert: clientCa.cert }, "Http2") });
    expect(await get2(sy.url, client)).toBe(200);
    expect(await get2(sy.url, stranger)).not.toBe(200);
    expect(await get2(sy.url, null)).not.toBe(200);
    expect(ups.list[0]!.requests).toHaveLength(1);
    expect(await closes("tls_handshake_failed")).toBe(2);
  });

  it("a replaced ca_cert file is trusted from the next handshake on", async () => {
    ups = await startUpstreams(1);
    const caFile = join(dir, "live-client-ca.crt");
    await copyFile(clientCa.certFile, caFile);
    sy = await startSwitchyard({ config: config({ verify_client: true, ca_cert: caFile }), certificateTiming: { pollMs: 20, debounceMs: 50 } });
    expect(await get(sy.url, client)).toBe(200);
    expect(await get(sy.url, stranger)).not.toBe(200);
    const reloaded = once(sy.host.events, "certificate-reload").then((a) => a[1] as ReloadOutcome);
    await copyFile(strangerCa.certFile, caFile);
    expect((await reloaded).kind).toBe("reloaded");
    expect(await get(sy.url, stranger)).toBe(200);
    expect(await get(sy.url, client)).not.toBe(200);
  });
});

describe("require_client_cert", () => {
  it("any certificate is taken, unverified; a client that sends none is closed and counted", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({ config: config({ require_client_cert: true }) });
    expect(await get(sy.url, stranger)).toBe(200);
    expect(await get(sy.url, client)).toBe(200);
    expect(await get(sy.url, null)).not.toBe(200);
    expect(ups.list[0]!.requests).toHaveLength(2);
    expect(await closes("tls_client_certificate_missing")).toBe(1);
  });
});

describe("config checks", () => {
  const problems = (cfg: unknown) => configProblems(cfg, "tls.json");
  const base = (tls: object) =>
    mosnConfig({
      clusters: [{ name: "c", hosts: ["127.0.0.1:1"] }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c" } }])],
      tls: { status: true, cert_chain: "a.crt", private_key: "a.key", ...tls },
    });
  const at = "servers[0].listeners[0].filter_chains[0].tls_context";

  it("verify_client without ca_cert is refused; a bad ca_cert stops the start naming it", async () => {
    expect(problems(base({ verify_client: true }))).toEqual([
      `${at}.ca_cert: required with verify_client true: the roots client certificates must chain to (a PEM or a file path)`,
    ]);
    expect(problems(base({ verify_client: true, ca_cert: "ca.crt" }))).toEqual([]);
    ups = await startUpstreams(1);
    const notPem = join(dir, "not-a-ca.crt");
    await copyFile(server.keyFile, notPem);
    await expect(startSwitchyard({ config: config({ verify_client: true, ca_cert: notPem }) })).rejects.toThrow(/ca_cert .*not-a-ca\.crt cannot be used: no PEM certificate in it/);
  });
});

// How the forwarder reaches a cluster's hosts (issue 15): cleartext HTTP/1.1 by default, TLS where the cluster
// has MOSN's tls_context (host/config/tls.ts). Loaded once when the host starts — files read, every PEM
// checked by building a secure context with it — and handed to the cluster's forward policies, so that a
// request only looks it up; host/proxy/pools.ts keeps one pool per address and transport.

import { readFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { ClusterTls, PemSource } from "../config/tls.js";
import { SwitchyardError } from "../plugin/errors.js";

/** A certificate, key or CA of a tls_context could not be read or used; names the tls_context and the file. */
export class TlsCredentialsError extends SwitchyardError {
  constructor(readonly where: string, detail: string, options?: { cause?: unknown }) {
    super("E_TLS_CREDENTIALS", `${where}: ${detail}`, options);
  }
}

export function describePem(src: PemSource): string {
  return src.kind === "file" ? src.path : "(inline PEM)";
}

export async function readPem(src: PemSource, where: string, field: string): Promise<string> {
  if (src.kind === "inline") return src.pem;
  try {
    return await readFile(src.path, "utf8");
  } catch (err) {
    throw new TlsCredentialsError(where, `${field} ${src.path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/** undici's connect options for TLS (node:tls connect options). */
export interface UpstreamTlsOptions {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

/**
 * HTTP/2 to the hosts: none (HTTP/1.1); "alpn" (Auto over TLS: h2 when the handshake agrees on it, else HTTP/1.1);
 * "h2" (HTTP/2 asked for, over TLS: ALPN offers h2 alone, host/proxy/connector.ts); "h2c" (prior knowledge).
 */
export type UpstreamH2 = "none" | "alpn" | "h2" | "h2c";

/**
 * A cluster's TLS options as loaded last: replaced whole when its files change (host/server/upstream-tls-reloader.ts),
 * so that a pool's next connection uses the new ones (host/proxy/connector.ts) and connections open finish on theirs.
 */
export class UpstreamTlsSource {
  private current: UpstreamTlsOptions;
  private changes = 0;

  constructor(options: UpstreamTlsOptions) {
    this.current = options;
  }

  get options(): UpstreamTlsOptions {
    return this.current;
  }

  /** Counts replacements: a connector built for another version is stale. */
  get version(): number {
    return this.changes;
  }

  replace(options: UpstreamTlsOptions): void {
    this.current = options;
    this.changes++;
  }
}

export interface UpstreamTransport {
  /** Tells pools of one address apart: the cluster's name and the HTTP/2 mode. */
  readonly key: string;
  readonly tls: UpstreamTlsSource | null;
  readonly h2: UpstreamH2;
}

/**
 * The transport of one cluster as one listener routes to it: the cluster's TLS (loaded), HTTP/2 when the cluster
 * has http2_protocol_options or the listener's upstream_protocol is Http2 (Auto: h2 only where TLS's ALPN settles
 * on it). Null: cleartext HTTP/1.1, the pools shared by address.
 */
export function transportFor(cluster: string, tls: UpstreamTransport | undefined, clusterHttp2: boolean, listenerUpstream: "http1" | "http2" | "auto"): UpstreamTransport | null {
  const secure = tls?.tls ?? null;
  const wantH2 = clusterHttp2 || listenerUpstream === "http2";
  const h2: UpstreamH2 = wantH2 ? (secure !== null ? "h2" : "h2c") : listenerUpstream === "auto" && secure !== null ? "alpn" : "none";
  if (secure === null && h2 === "none") return null;
  return Object.freeze({ key: `${cluster}|${h2}`, tls: secure, h2 });
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** node:tls skips CA certificates it cannot parse without a word: each is parsed here, and there must be one. */
/** Every PEM certificate in `pem` parses, and there is at least one. */
export function checkCertificates(pem: string, where: string, what: string): void {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsCredentialsError(where, `${what} cannot be used: no PEM certificate in it`);
  blocks.forEach((b, i) => {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw new TlsCredentialsError(where, `${what} cannot be used: certificate ${i + 1} does not parse: ${(err as Error).message}`, { cause: err });
    }
  });
}

/** Reads and checks a cluster's tls_context. */
export async function loadUpstreamTransport(cluster: string, tls: ClusterTls): Promise<UpstreamTransport> {
  return Object.freeze({ key: cluster, tls: new UpstreamTlsSource(await loadUpstreamTlsOptions(tls)), h2: "none" as const });
}

/** Reads a cluster's tls_context files and checks what they hold (E_TLS_CREDENTIALS naming the file). */
export async function loadUpstreamTlsOptions(tls: ClusterTls): Promise<UpstreamTlsOptions> {
  const o: { -readonly [K in keyof UpstreamTlsOptions]: UpstreamTlsOptions[K] } = { rejectUnauthorized: !tls.insecureSkip };
  if (tls.caCert !== null) {
    o.ca = await readPem(tls.caCert, tls.where, "ca_cert");
    checkCertificates(o.ca, tls.where, `ca_cert ${describePem(tls.caCert)}`);
  }
  if (tls.certChain !== null) o.cert = await readPem(tls.certChain, tls.where, "cert_chain");
  if (tls.privateKey !== null) o.key = await readPem(tls.privateKey, tls.where, "private_key");
  if (tls.serverName !== null) o.servername = tls.serverName;
  try {
    createSecureContext({ ...(o.ca !== undefined ? { ca: o.ca } : {}), ...(o.cert !== undefined ? { cert: o.cert, key: o.key } : {}) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = [tls.caCert && `ca_cert ${describePem(tls.caCert)}`, tls.certChain && `cert_chain ${describePem(tls.certChain)}`, tls.privateKey && `private_key ${describePem(tls.privateKey)}`].filter(Boolean).join(", ");
    throw new TlsCredentialsError(tls.where, `${what} cannot be used: ${e.message}${e.code ? ` (${e.code})` : ""}`, { cause: err });
  }
  return Object.freeze(o);
}

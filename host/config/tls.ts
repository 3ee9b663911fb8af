// MOSN's tls_context (issue 15), on a listener's filter chain (the certificate this host serves) and on a
// cluster (how this host talks TLS to the cluster's hosts). Each of cert_chain, private_key and ca_cert is read
// as MOSN reads it: a value containing "-----BEGIN" is the PEM itself, any other
// value a file path (resolved against the config file's folder here, as the `switchyard` block's paths are).
// Files are read when the host starts, and a listener's are watched (host/server/tls-credentials.ts).

import { resolve } from "node:path";
import { FIELDS } from "./fields.js";
import { keyPath, type Reader } from "./reader.js";

/** Where a PEM comes from: written in the config, or a file read at start (and, for listeners, on change). */
export type PemSource = { readonly kind: "inline"; readonly pem: string } | { readonly kind: "file"; readonly path: string };

/**
 * Client certificates a listener asks for, as MOSN maps its two flags onto Go's tls.ClientAuthType:
 * verify_client → RequireAndVerifyClientCert ("verify": a certificate that chains to ca_cert, checked in the
 * handshake); require_client_cert alone → RequireAnyClientCert ("require": some certificate, not verified).
 */
export type ClientAuth = "none" | "require" | "verify";

/** A listener's tls_context with status true. */
export interface ListenerTls {
  readonly where: string;
  readonly certChain: PemSource;
  readonly privateKey: PemSource;
  readonly clientAuth: ClientAuth;
  /** The roots client certificates must chain to; set exactly when clientAuth is "verify". */
  readonly clientCa: PemSource | null;
  /** In a tls_context_set, a name the client's SNI picks this certificate by (besides the certificate's own). */
  readonly serverName: string | null;
}

/** A cluster's tls_context with status true. */
export interface ClusterTls {
  readonly where: string;
  /** Trusted roots; null: Node's bundled public CAs. */
  readonly caCert: PemSource | null;
  /** Client certificate and key, both or neither (mutual TLS). */
  readonly certChain: PemSource | null;
  readonly privateKey: PemSource | null;
  /** SNI and the name the upstream's certificate must carry; null: the host's `hostname`, else its address. */
  readonly serverName: string | null;
  /** MOSN's insecure_skip: the upstream's certificate is not verified (default false: verified). */
  readonly insecureSkip: boolean;
}

function pemSource(r: Reader, o: Record<string, unknown>, key: string, path: string, baseDir: string): PemSource | null {
  const v = r.string(o, key, path, false);
  if (v === undefined) return null;
  if (v.trim() === "") {
    r.error(keyPath(path, key), "expected a PEM or a file path, got an empty string");
    return null;
  }
  return v.includes("-----BEGIN") ? { kind: "inline", pem: v } : { kind: "file", path: resolve(baseDir, v) };
}

/** Reads `status`; null when TLS is off (absent, or status false, as MOSN: the rest is then ignored). */
function enabled(r: Reader, value: unknown, path: string): Record<string, unknown> | null {
  const o = r.object(value, path, FIELDS.tlsContext);
  if (o === undefined) return null;
  const status = r.boolean(o, "status", path);
  if (status !== true) {
    if (status === undefined && o["status"] === undefined && Object.keys(o).length > 0) {
      r.warn(keyPath(path, "status"), "tls_context without status: true is off (MOSN's default), its other fields are ignored");
    }
    return null;
  }
  return o;
}

/** `inSet`: one context of a tls_context_set, where server_name picks it by SNI (host/server/sni.ts). */
export function readListenerTls(r: Reader, value: unknown, path: string, baseDir: string, inSet = false): ListenerTls | null {
  const o = enabled(r, value, path);
  if (o === null) return null;
  let serverName: string | null = null;
  if (inSet) {
    const sn = r.string(o, "server_name", path, false);
    if (sn !== undefined && !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(sn)) {
      r.error(keyPath(path, "server_name"), `expected a host name or a wildcard such as "*.example.com", got ${JSON.stringify(sn)}`);
    } else if (sn !== undefined) serverName = sn.toLowerCase().replace(/\.$/, "");
  }
  const certChain = pemSource(r, o, "cert_chain", path, baseDir);
  const privateKey = pemSource(r, o, "private_key", path, baseDir);
  if (certChain === null && o["cert_chain"] === undefined) r.error(keyPath(path, "cert_chain"), "required with status true: the certificate chain this listener serves (a PEM or a file path)");
  if (privateKey === null && o["private_key"] === undefined) r.error(keyPath(path, "private_key"), "required with status true: the certificate's private key (a PEM or a file path)");
  const verify = r.boolean(o, "verify_client", path) === true;
  const require = r.boolean(o, "require_client_cert", path) === true;
  const clientCa = pemSource(r, o, "ca_cert", path, baseDir);
  // Checking client certificates against nothing would accept none or any: refuse the config instead.
  if (verify && clientCa === null && o["ca_cert"] === undefined) r.error(keyPath(path, "ca_cert"), "required with verify_client true: the roots client certificates must chain to (a PEM or a file path)");
  if (!verify && o["ca_cert"] !== undefined) r.warn(keyPath(path, "ca_cert"), "a listener's ca_cert verifies client certificates, which only verify_client: true asks for; ignored");
  for (const key of inSet ? (["insecure_skip"] as const) : (["server_name", "insecure_skip"] as const)) {
    if (o[key] !== undefined) r.warn(keyPath(path, key), key === "server_name" ? "a listener with one tls_context serves it whatever the SNI; server_name chooses among the contexts of a tls_context_set; ignored" : "applies to a cluster's tls_context only; ignored on a listener");
  }
  if (certChain === null || privateKey === null) return null;
  const clientAuth: ClientAuth = verify ? "verify" : require ? "require" : "none";
  return { where: path, certChain, privateKey, clientAuth, clientCa: verify ? clientCa : null, serverName };
}

export function readClusterTls(r: Reader, value: unknown, path: string, baseDir: string): ClusterTls | null {
  const o = enabled(r, value, path);
  if (o === null) return null;
  const caCert = pemSource(r, o, "ca_cert", path, baseDir);
  const certChain = pemSource(r, o, "cert_chain", path, baseDir);
  const privateKey = pemSource(r, o, "private_key", path, baseDir);
  if ((certChain === null) !== (privateKey === null)) {
    r.error(keyPath(path, certChain === null ? "cert_chain" : "private_key"), "a client certificate needs both cert_chain and private_key");
  }
  const serverName = r.string(o, "server_name", path, false) ?? null;
  if (serverName === "") r.error(keyPath(path, "server_name"), "expected a host name, got an empty string");
  const insecureSkip = r.boolean(o, "insecure_skip", path) ?? false;
  for (const key of ["verify_client", "require_client_cert"] as const) {
    if (o[key] !== undefined) r.warn(keyPath(path, key), "applies to a listener's tls_context only; ignored on a cluster");
  }
  return { where: path, caCert, certChain, privateKey, serverName: serverName || null, insecureSkip };
}

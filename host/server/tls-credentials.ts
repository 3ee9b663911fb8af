// The certificate and key of a TLS listener (tls_context, host/config/tls.ts), and the roots its clients'
// certificates must chain to when it verifies them: read and checked at start, and read again when their files
// change, so that a renewed certificate or CA is served without a restart. A new pair is checked whole (tls.createSecureContext parses both and refuses a key that does not match) before it
// replaces the one serving — build aside, then swap; a bad pair is refused with a log line and the old one
// keeps serving, as a bad plugin bundle is (host/plugin/watcher.ts).

import { createHash, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { Logger } from "pino";
import type { ListenerTls, PemSource } from "../config/tls.js";
import { checkCertificates, describePem as describe, readPem, TlsCredentialsError } from "../proxy/transport.js";
import { PolledFiles, type ReloadTiming } from "./polled-files.js";

export { TlsCredentialsError, type ReloadTiming };

/** The files among `sources` (inline PEMs have nothing to watch). */
export function pemFiles(sources: readonly (PemSource | null)[]): string[] {
  return sources.flatMap((s) => (s?.kind === "file" ? [s.path] : []));
}

export interface ServerCredentials {
  readonly cert: string;
  readonly key: string;
  /** The roots client certificates are verified against (verify_client), else null. */
  readonly ca: string | null;
  /** sha256 of the leaf certificate (DER), as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint: string;
  /** The leaf's validTo, for logs. */
  readonly validTo: string;
  /** The names the leaf is for, lowercase: its subject CN and DNS subjectAltNames (what an SNI is matched to). */
  readonly names: readonly string[];
}

/** Reads and checks a listener's pair (both parse, the key is the certificate's) and its client roots, if any. */
export async function loadServerCredentials(tls: ListenerTls): Promise<ServerCredentials> {
  const [cert, key, ca] = await Promise.all([
    readPem(tls.certChain, tls.where, "cert_chain"),
    readPem(tls.privateKey, tls.where, "private_key"),
    tls.clientCa === null ? null : readPem(tls.clientCa, tls.where, "ca_cert"),
  ]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new TlsCredentialsError(tls.where, `cert_chain ${describe(tls.certChain)} is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  if (ca !== null) checkCertificates(ca, tls.where, `ca_cert ${describe(tls.clientCa!)}`);
  try {
    createSecureContext({ cert, key, ...(ca !== null ? { ca } : {}) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TlsCredentialsError(tls.where, `cert_chain ${describe(tls.certChain)} and private_key ${describe(tls.privateKey)} cannot be used together: ${e.message}${e.code ? ` (${e.code})` : ""}`, { cause: err });
  }
  return { cert, key, ca, fingerprint: createHash("sha256").update(leaf.raw).digest("hex"), validTo: leaf.validTo, names: certificateNames(leaf) };
}

/** The subject CN and the DNS subjectAltNames of `leaf`, lowercase (MOSN's tlsContext buildMatch takes the same). */
function certificateNames(leaf: X509Certificate): string[] {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject)?.[1];
  const dns = (leaf.subjectAltName ?? "").split(", ").flatMap((e) => (e.startsWith("DNS:") ? [e.slice(4)] : []));
  return [...new Set([...(cn !== undefined ? [cn] : []), ...dns].map((n) => n.toLowerCase()))];
}

/** What tells one loaded set from another: a reload that changes none of it is "unchanged". */
function identity(c: ServerCredentials): string {
  return `${c.fingerprint}\n${c.key}\n${c.ca ?? ""}`;
}

export type ReloadOutcome =
  | { readonly kind: "reloaded"; readonly fingerprint: string }
  | { readonly kind: "unchanged"; readonly fingerprint: string }
  | { readonly kind: "refused"; readonly error: TlsCredentialsError };

/**
 * Watches the files of one listener's pair and calls `apply` with each new pair that loads. Inline PEMs have
 * nothing to watch.
 */
export class CertificateReloader {
  private readonly files: PolledFiles;
  private current: string;

  constructor(
    private readonly listener: string,
    private readonly tls: ListenerTls,
    initial: ServerCredentials,
    private readonly apply: (c: ServerCredentials) => void,
    private readonly log: Logger,
    timing: ReloadTiming = {},
    private readonly onOutcome?: (o: ReloadOutcome) => void,
  ) {
    this.current = identity(initial);
    this.files = new PolledFiles(pemFiles([tls.certChain, tls.privateKey, tls.clientCa]), timing, () => this.reload());
  }

  start(): void {
    this.files.start();
  }

  stop(): void {
    this.files.stop();
  }

  /** Loads the pair again now (also what a file change does after the debounce). */
  async reload(): Promise<ReloadOutcome> {
    let outcome: ReloadOutcome;
    try {
      const c = await loadServerCredentials(this.tls);
      if (identity(c) === this.current) outcome = { kind: "unchanged", fingerprint: c.fingerprint };
      else {
        this.apply(c);
        this.current = identity(c);
        outcome = { kind: "reloaded", fingerprint: c.fingerprint };
        this.log.info({ listener: this.listener, fingerprint: c.fingerprint, validTo: c.validTo, event: "certificate-reloaded" }, "listener certificate reloaded");
      }
    } catch (err) {
      const error = err instanceof TlsCredentialsError ? err : new TlsCredentialsError(this.tls.where, (err as Error).message, { cause: err });
      outcome = { kind: "refused", error };
      this.log.error({ listener: this.listener, code: error.code, err: error.message, event: "certificate-refused" }, "new listener certificate refused; the previous one keeps serving");
    }
    this.onOutcome?.(outcome);
    return outcome;
  }
}

// The certificate and key of a TLS listener (tls_context, host/config/tls.ts), and the roots its clients'
// certificates must chain to when it verifies them: read and checked at start, and read again when their files
// change, so that a renewed certificate or CA is served without a restart. A new pair is checked whole (tls.createSecureContext parses both and refuses a key that does not match) before it
// replaces the one serving — build aside, then swap; a bad pair is refused with a log line and the old one
// keeps serving, as a bad plugin bundle is (host/plugin/watcher.ts).

import { unwatchFile, watchFile, type Stats } from "node:fs";
import { createHash, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { Logger } from "pino";
import type { ListenerTls } from "../config/tls.js";
import { checkCertificates, describePem as describe, readPem, TlsCredentialsError } from "../proxy/transport.js";

export { TlsCredentialsError };

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

export interface ReloadTiming {
  /** How often the files' stat is polled (fs.watchFile, which follows a file replaced by rename). Default 1 s. */
  readonly pollMs?: number;
  /** A change waits this long for the other file of the pair to change too. Default 200 ms. */
  readonly debounceMs?: number;
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
  private timer: NodeJS.Timeout | null = null;
  private readonly files: string[];
  private current: string;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly listener: string,
    private readonly tls: ListenerTls,
    initial: ServerCredentials,
    private readonly apply: (c: ServerCredentials) => void,
    private readonly log: Logger,
    private readonly timing: ReloadTiming = {},
    private readonly onOutcome?: (o: ReloadOutcome) => void,
  ) {
    this.current = identity(initial);
    this.files = [tls.certChain, tls.privateKey, tls.clientCa].flatMap((s) => (s?.kind === "file" ? [s.path] : []));
  }

  start(): void {
    const interval = this.timing.pollMs ?? 1_000;
    for (const f of new Set(this.files)) watchFile(f, { interval, persistent: false }, this.changed);
  }

  stop(): void {
    for (const f of new Set(this.files)) unwatchFile(f, this.changed);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly changed = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.running.then(async () => {
        await this.reload();
      });
    }, this.timing.debounceMs ?? 200);
  };

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

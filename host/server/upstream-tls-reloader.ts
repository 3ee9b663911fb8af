// A cluster's tls_context files (ca_cert, cert_chain, private_key; host/config/tls.ts) watched as a listener's are
// (host/server/tls-credentials.ts): a change is read and checked whole, aside, then replaces the options of the
// cluster's UpstreamTlsSource, so that the pools' next connections use it (host/proxy/connector.ts) while the
// connections open finish on theirs; files that cannot be read or used are refused with a log line and the
// previous options stay.

import { isDeepStrictEqual } from "node:util";
import type { Logger } from "pino";
import type { ClusterTls } from "../config/tls.js";
import { loadUpstreamTlsOptions, TlsCredentialsError, type UpstreamTlsSource } from "../proxy/transport.js";
import { PolledFiles, type ReloadTiming } from "./polled-files.js";
import { pemFiles } from "./tls-credentials.js";

export type UpstreamTlsReloadOutcome =
  | { readonly kind: "reloaded" }
  | { readonly kind: "unchanged" }
  | { readonly kind: "refused"; readonly error: TlsCredentialsError };

export class UpstreamTlsReloader {
  private readonly files: PolledFiles;

  constructor(
    private readonly cluster: string,
    private readonly tls: ClusterTls,
    private readonly source: UpstreamTlsSource,
    private readonly log: Logger,
    timing: ReloadTiming = {},
    private readonly onOutcome?: (o: UpstreamTlsReloadOutcome) => void,
  ) {
    this.files = new PolledFiles(pemFiles([tls.caCert, tls.certChain, tls.privateKey]), timing, () => this.reload());
  }

  start(): void {
    this.files.start();
  }

  stop(): void {
    this.files.stop();
  }

  /** Reads the files again now (also what a change does after the debounce). */
  async reload(): Promise<UpstreamTlsReloadOutcome> {
    let outcome: UpstreamTlsReloadOutcome;
    try {
      const options = await loadUpstreamTlsOptions(this.tls);
      if (isDeepStrictEqual(options, this.source.options)) outcome = { kind: "unchanged" };
      else {
        this.source.replace(options);
        outcome = { kind: "reloaded" };
        this.log.info({ cluster: this.cluster, event: "upstream-tls-reloaded" }, "cluster TLS files reloaded; new connections use them");
      }
    } catch (err) {
      const error = err instanceof TlsCredentialsError ? err : new TlsCredentialsError(this.tls.where, (err as Error).message, { cause: err });
      outcome = { kind: "refused", error };
      this.log.error({ cluster: this.cluster, code: error.code, err: error.message, event: "upstream-tls-refused" }, "new cluster TLS files refused; the previous ones stay in use");
    }
    this.onOutcome?.(outcome);
    return outcome;
  }
}

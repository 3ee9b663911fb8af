// A listener's certificates chosen by the client's SNI (MOSN's tls_context_set, host/config/tls.ts). Each context
// is matched by its server_name and by its certificate's names (subject CN, DNS subjectAltNames), as MOSN's
// tlsContext.MatchedServerName does: lowercase, a trailing dot dropped, the exact name first, then wildcards from
// the closest (`a.b.example.test` tries `*.b.example.test`, then `*.example.test`, then `*.test`). An exact name
// of any context beats a wildcard of another (Envoy's order for server_names); between equals the first context
// in config order wins; no match, or no SNI, is the first context, served by the server's own secure context.
//
// A context's certificate is replaced alone when its files change (host/server/tls-credentials.ts): its secure
// context and the lookup table are built aside, then swapped in for the next handshake.

import { createSecureContext, type SecureContext } from "node:tls";
import type { ServerCredentials } from "./tls-credentials.js";

interface Table {
  /** name (exact or "*.suffix") → index of the first context carrying it. */
  readonly byName: ReadonlyMap<string, number>;
  readonly contexts: readonly SecureContext[];
}

export class SniContexts {
  private table: Table;
  private credentials: ServerCredentials[];

  /** `serverNames[i]`: context i's server_name from the config, if any. */
  constructor(private readonly serverNames: readonly (string | null)[], credentials: readonly ServerCredentials[]) {
    this.credentials = [...credentials];
    this.table = build(serverNames, this.credentials, credentials.map(secureContextOf));
  }

  /** Context `index` serves `c` from the next handshake on. */
  replace(index: number, c: ServerCredentials): void {
    const credentials = this.credentials.map((old, i) => (i === index ? c : old));
    const contexts = this.table.contexts.map((old, i) => (i === index ? secureContextOf(c) : old));
    this.table = build(this.serverNames, credentials, contexts);
    this.credentials = credentials;
  }

  /** The index of the context `servername` picks (0 when it picks none). */
  select(servername: string): number {
    const name = servername.toLowerCase().replace(/\.+$/, "");
    const { byName } = this.table;
    const exact = byName.get(name);
    if (exact !== undefined) return exact;
    const labels = name.split(".");
    for (let i = 1; i < labels.length; i++) {
      const hit = byName.get(`*.${labels.slice(i).join(".")}`);
      if (hit !== undefined) return hit;
    }
    return 0;
  }

  /** node:tls's SNICallback: the chosen context's secure context (the first's is the server's default). */
  readonly callback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.table.contexts[this.select(servername)]);
  };
}

function secureContextOf(c: ServerCredentials): SecureContext {
  return createSecureContext({ cert: c.cert, key: c.key, ...(c.ca !== null ? { ca: c.ca } : {}) });
}

function build(serverNames: readonly (string | null)[], credentials: readonly ServerCredentials[], contexts: readonly SecureContext[]): Table {
  const byName = new Map<string, number>();
  credentials.forEach((c, i) => {
    const sn = serverNames[i];
    for (const n of sn != null ? [sn, ...c.names] : c.names) if (!byName.has(n)) byName.set(n, i);
  });
  return { byName, contexts };
}

// Whether the admin API listens beyond loopback, and what to say about it: at start (host/server/host.ts) and
// in `switchyard check`. Reads (plugins, their config texts, clusters, metrics) are open to whoever reaches it;
// without a token nothing can be changed, but nothing else stands between the network and those reads.

import { isIP } from "node:net";

export interface Exposure {
  readonly level: "warn" | "error";
  readonly message: string;
}

/** Loopback: 127.0.0.0/8, ::1 (also as ::ffff:127.x), or the name localhost. */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/** What to log when the admin API is reachable from other machines, or null on loopback. */
export function adminExposure(host: string, tokenConfigured: boolean): Exposure | null {
  if (isLoopback(host)) return null;
  const where = host === "0.0.0.0" || host === "::" ? `every interface (${host})` : host;
  if (tokenConfigured) {
    return { level: "warn", message: `the admin API listens on ${where}, beyond loopback: its reads (plugins, config texts, clusters, metrics) are open to every machine that reaches it; changes need the token` };
  }
  return { level: "error", message: `the admin API listens on ${where}, beyond loopback, and NO ADMIN TOKEN is set: its reads (plugins, config texts, clusters, metrics) are open to every machine that reaches it, and no change or explain can be made at all; set SWITCHYARD_ADMIN_TOKEN or switchyard.admin_token_file, or listen on 127.0.0.1` };
}

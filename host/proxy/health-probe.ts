// The probes of active health checks (host/cluster/health-check.ts): a TCP connect, or an HTTP/1.1 GET on a
// connection of its own (never a pooled one: a check over a kept-alive connection would pass for a host
// that no longer accepts new ones). Over TLS where the cluster has a tls_context (host/proxy/transport.ts).

import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import type { HealthCheckSettings, Probe, ProbeResult } from "../cluster/health-check.js";
import type { Host } from "../cluster/types.js";
import { parseHostPort } from "../config/address.js";
import type { UpstreamTlsOptions } from "./transport.js";

/** Sent with every HTTP check, so that an upstream's own logs can tell checks from traffic. */
const HEALTH_CHECK_USER_AGENT = "switchyard-health-check";

function failure(err: unknown): ProbeResult {
  const e = err as NodeJS.ErrnoException;
  return { ok: false, detail: typeof e?.code === "string" ? e.code : e instanceof Error ? e.message : String(err) };
}

function target(host: Host): { host: string; port: number } {
  const hp = parseHostPort(host.address, false);
  if (typeof hp === "string") throw new Error(`host address ${host.address}: ${hp}`);
  return hp;
}

/** Connects to the host (over TLS when `secure` is given: the handshake must pass too), then closes. */
export function tcpProbe(secure: UpstreamTlsOptions | null): Probe {
  return (host, signal) =>
    new Promise<ProbeResult>((resolve) => {
      const { host: address, port } = target(host);
      const socket = secure === null
        ? net.connect({ host: address, port })
        : tls.connect({ host: address, port, ...secure, ...(secure.servername === undefined && net.isIP(address) === 0 ? { servername: address } : {}) });
      socket.once(secure === null ? "connect" : "secureConnect", () => {
        socket.destroy();
        resolve({ ok: true, detail: "connected" });
      });
      socket.once("error", (err) => {
        socket.destroy();
        resolve(failure(err));
      });
      // The checker has already counted a timeout when it aborts: only the socket is left to close.
      signal.addEventListener("abort", () => socket.destroy(), { once: true });
    });
}

/** GETs the check path; an expected status passes, anything else (another status, no answer) fails. */
export function httpProbe(check: NonNullable<HealthCheckSettings["http"]>, secure: UpstreamTlsOptions | null): Probe {
  const expected = new Set(check.expectedStatuses);
  return (host, signal) =>
    new Promise<ProbeResult>((resolve) => {
      const t = target(host);
      const port = check.port ?? t.port;
      const options = {
        host: t.host,
        port,
        path: check.path,
        method: "GET",
        agent: false,
        signal,
        headers: { host: host.hostname ?? host.address, "user-agent": HEALTH_CHECK_USER_AGENT, connection: "close" },
      } as const;
      const req = secure === null ? http.request(options) : https.request({ ...options, ...secure });
      req.once("response", (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        res.once("end", () => resolve({ ok: expected.has(status), detail: `status ${status}` }));
        res.once("error", (err) => resolve(failure(err)));
      });
      req.once("error", (err) => resolve(failure(err)));
      req.end();
    });
}

/** The probe a cluster's settings ask for. */
export function probeFor(settings: HealthCheckSettings, secure: UpstreamTlsOptions | null): Probe {
  return settings.kind === "http" && settings.http !== null ? httpProbe(settings.http, secure) : tcpProbe(secure);
}

// What went wrong talking to etcd, said so that an operator can fix it: `push --source`, `hosts --source` and
// `status --source` end with it, and `run --source` logs it each time it retries. etcd3's own errors name
// neither the endpoint nor the user, and a failed TLS handshake reaches it only as gRPC's "14 UNAVAILABLE: No
// connection established", so an unavailable endpoint is probed once with a TLS connection of the same
// settings to find out why (an untrusted server certificate, a client certificate etcd requires, an etcd
// that speaks TLS to a client that does not). The password is never part of a message.

import { readFileSync } from "node:fs";
import { connect, type ConnectionOptions } from "node:tls";
import { EtcdAuthenticationFailedError, EtcdPermissionDeniedError, GRPCUnavailableError } from "etcd3";
import { SourceError, type SourceSettings } from "./source-url.js";

const PROBE_MS = 3000;

/** `err` (from etcd3) as a SourceError naming the endpoints, the user and what to change; others as they are. */
export async function explainEtcdError(err: unknown, s: SourceSettings, env: NodeJS.ProcessEnv = process.env): Promise<Error> {
  if (!(err instanceof Error) || err instanceof SourceError) return err as Error;
  const at = `etcd at ${s.endpoints.join(",")}`;
  if (err instanceof EtcdAuthenticationFailedError) {
    const unset = env.SWITCHYARD_ETCD_PASSWORD === undefined ? ", which is not set" : "";
    return new SourceError(`${at} refused user ${JSON.stringify(s.user ?? "")}: wrong user name or password (the password is read from SWITCHYARD_ETCD_PASSWORD${unset})`);
  }
  if (err instanceof EtcdPermissionDeniedError) {
    return new SourceError(`${at}: user ${JSON.stringify(s.user ?? "")} has no permission on ${s.prefix}/ (etcd: permission denied); its role needs readwrite on the key prefix ${s.prefix}/`);
  }
  if (/user name is empty/.test(err.message)) {
    return new SourceError(`${at} has authentication enabled: give user=<name> in the source URL and the password in SWITCHYARD_ETCD_PASSWORD`);
  }
  if (err instanceof GRPCUnavailableError) {
    for (const e of s.endpoints) {
      const why = await probe(e, s);
      if (why !== null) return new SourceError(`${at} unavailable: ${why}`);
    }
    return new SourceError(`${at} unavailable: ${err.message}`);
  }
  return err;
}

/** Why a connection to `endpoint` with the settings' TLS fails, or null when it does not (or is not TLS). */
function probe(endpoint: string, s: SourceSettings): Promise<string | null> {
  const tls = s.ca !== undefined;
  const sep = endpoint.lastIndexOf(":");
  const options: ConnectionOptions = {
    host: endpoint.slice(0, sep).replace(/^\[|\]$/g, ""),
    port: Number(endpoint.slice(sep + 1)),
    ALPNProtocols: ["h2"],
    ...(tls ? { ca: readFileSync(s.ca!), ...(s.cert !== undefined ? { cert: readFileSync(s.cert) } : {}), ...(s.key !== undefined ? { key: readFileSync(s.key) } : {}) } : { rejectUnauthorized: false }),
  };
  return new Promise((resolve) => {
    const socket = connect(options);
    const done = (why: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(null), PROBE_MS);
    // Without `ca` the client speaks plain HTTP/2: a TLS handshake that succeeds means etcd wants TLS.
    socket.on("secureConnect", () => (tls ? socket.write(H2_PREFACE) : done(`${endpoint} speaks TLS: give ca=<file> (the CA of its certificate) in the source URL`)));
    // etcd's first HTTP/2 frame: it took the handshake, client certificate included (TLS 1.3 says no to one
    // only after the client's side of the handshake is done, so secureConnect alone proves nothing).
    socket.on("data", () => done(null));
    socket.on("error", (e: Error) => done(tls ? `TLS to ${endpoint}: ${tlsReason(e, s)}` : null));
  });
}

/** The HTTP/2 client preface and an empty SETTINGS frame (RFC 9113 section 3.4). */
const H2_PREFACE = Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/** OpenSSL's reason ("sslv3 alert bad certificate") rather than its whole error line, and what to check. */
function tlsReason(e: Error, s: SourceSettings): string {
  const reason = /SSL routines:[^:]*:([^:]+)/.exec(e.message)?.[1] ?? e.message;
  if (/alert (bad certificate|certificate required|handshake failure)/.test(reason)) {
    return s.cert === undefined
      ? `${reason} (etcd requires a client certificate: give cert=<file>&key=<file>)`
      : `${reason} (etcd refused the client certificate ${s.cert}: is it signed by etcd's --trusted-ca-file?)`;
  }
  if (/verify|issuer|self.signed/i.test(reason)) return `${reason} (is ${s.ca} the CA that signed etcd's certificate?)`;
  return reason;
}

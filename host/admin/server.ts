// The admin API, on loopback by default. Reads are open; every request that changes state or runs plugin code
// needs the bearer token (401 otherwise, and nothing changes), and is refused when a browser sends it from
// another site (403). Bodies are size- and depth-limited; malformed ones get 400 with a reason. A known path
// asked with another method is 405 with Allow; HEAD is answered wherever GET is, without the body.
//
//   GET  /healthz  /readyz  /plugins  /plugins/<name>/config  /clusters  /metrics  /workers (--workers N)
//   PUT  /plugins/<name>/config      body: config text; optional If-Match: <config version>
//   PUT  /clusters/<name>/hosts      body: JSON array of hosts (the config's host shape)
//   POST /explain                    body: JSON sample request (see host/explain), Content-Type: application/json

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_CONFIG_BYTES } from "../abi/limits.js";
import { ConfigRejected, PluginFailure, SwitchyardError } from "../plugin/errors.js";
import { ConfigPusher, PushError } from "../plugin/push.js";
import type { PluginRegistry } from "../plugin/registry.js";
import type { Refusal } from "../plugin/watcher.js";
import type { Readiness } from "../server/readiness.js";
import type { AdminToken } from "./auth.js";
import { BodyError, json, parseJsonBody, problem, readBody, utf8 } from "./http.js";
import { statusOf } from "./errors.js";

/** What the admin API needs of the clusters; validation errors carry a code and a message naming the field. */
export interface ClusterAdmin {
  list(): { name: string; version: number; hostsVersion: number; hosts: readonly object[] }[];
  /** Validates, persists, then swaps; resolves the new host-list version and the validated hosts. */
  replaceHosts(name: string, hosts: unknown): Promise<{ version: number; hosts: readonly object[] }>;
}

/** What a broadcast reached: workers that applied the change, and those that failed or did not answer. */
export interface Spread {
  readonly workers: number;
  readonly failed: readonly { pid: number; error: string }[];
}

/** Spreads a change to every worker process and resolves when all applied it (single process: at once). */
export interface Broadcaster {
  pluginConfig(name: string, version: number, config: string): Promise<Spread>;
  clusterHosts(name: string, version: number, hosts: readonly object[]): Promise<Spread>;
}

/** A plugin's counters summed over the workers, and each worker's (host/server/workers.ts pluginCounts). */
export interface PluginCounts {
  readonly calls: number;
  readonly failures: number;
  readonly failuresByKind: Readonly<Record<string, number>>;
  readonly quarantines: number;
  readonly workers: readonly { pid: number; configVersion: number; state: string; calls: number; failures: number; quarantines: number }[];
}

export interface AdminDeps {
  readonly registry: PluginRegistry;
  readonly pusher: ConfigPusher;
  readonly clusters: ClusterAdmin;
  readonly token: AdminToken;
  /** true/false, or the host's Readiness (what is missing and why), for GET /readyz. */
  readonly ready: () => boolean | Readiness;
  /** The bundles refused as they are on disk, listed by GET /plugins with state "refused". */
  readonly refused?: () => readonly Refusal[];
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  readonly explain?: (request: unknown) => unknown;
  readonly broadcast?: Broadcaster;
  /** The main config's source, generation and last reload, for GET /config. */
  readonly config?: () => unknown;
  /** Each worker's own view (pid, plugins, clusters), for GET /workers. */
  readonly workers?: () => Promise<unknown>;
  /**
   * Under --workers N: each plugin's counters summed over the workers, with each worker's own, for GET /plugins
   * (the primary routes nothing: its own counters stay 0).
   */
  readonly pluginCounts?: () => Promise<ReadonlyMap<string, PluginCounts>>;
  readonly log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

const HOSTS_BODY_LIMIT = 16 * 1024 * 1024;
/** A sample request is a request head: far below this (the listener's own limit is http.maxHeaderSize). */
const EXPLAIN_BODY_LIMIT = 1024 * 1024;
const SINGLE: Spread = Object.freeze({ workers: 1, failed: [] });

function spreadView(s: Spread): Record<string, unknown> {
  return s.failed.length > 0 ? { appliedWorkers: s.workers, failedWorkers: s.failed } : { appliedWorkers: s.workers };
}

function pluginView(p: ReturnType<PluginRegistry["list"]>[number]) {
  return {
    name: p.name,
    version: p.version,
    order: p.order,
    sha256: p.bundle.metadata.sha256,
    configVersion: p.configVersion,
    state: p.state,
    failurePolicy: p.policy,
    headers: p.headers,
    calls: p.stats.calls,
    failures: p.stats.failures,
    failuresByKind: p.stats.failuresByKind,
    quarantines: p.stats.quarantines,
  };
}

export class AdminServer {
  readonly server: Server;

  constructor(private readonly deps: AdminDeps) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) problem(res, 500, "E_ADMIN_INTERNAL", err.message);
        else res.destroy();
      });
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private authorized(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.deps.token.check(req.headers.authorization)) return true;
    const why = this.deps.token.configured ? "a valid bearer token is required" : "no admin token is configured (set SWITCHYARD_ADMIN_TOKEN), so changes are refused";
    this.deps.log.warn({ method: req.method, url: req.url, remote: req.socket.remoteAddress }, "admin request refused: unauthorized");
    problem(res, 401, "E_ADMIN_UNAUTHORIZED", why, {});
    return false;
  }

  /**
   * A browser page of another site must not reach what changes state or runs plugin code: a simple-CORS
   * POST (no preflight) would otherwise arrive with the operator's network position. Browsers say where a
   * request comes from (Sec-Fetch-Site, Origin); other clients (curl, switchyard push) send neither. Why it
   * is refused, or null.
   */
  private crossSite(req: IncomingMessage): string | null {
    const site = req.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin" && site !== "none") return `Sec-Fetch-Site is ${JSON.stringify(site)}`;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host ?? ""}`) return `Origin ${JSON.stringify(origin)} is not this admin API's own`;
    return null;
  }

  /** The methods a path answers (GET implies HEAD), or null when no endpoint has that path. */
  private methodsOf(parts: readonly string[]): readonly string[] | null {
    const path = parts.join("/");
    if (path === "healthz" || path === "readyz" || path === "plugins" || path === "clusters") return ["GET"];
    if (path === "metrics" && this.deps.metrics) return ["GET"];
    if (path === "workers" && this.deps.workers) return ["GET"];
    if (path === "config" && this.deps.config) return ["GET"];
    if (path === "explain" && this.deps.explain) return ["POST"];
    if (parts.length === 3 && parts[0] === "plugins" && parts[2] === "config") return ["GET", "PUT"];
    if (parts.length === 3 && parts[0] === "clusters" && parts[2] === "hosts") return ["PUT"];
    return null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://admin");
    let parts: string[];
    try {
      parts = url.pathname.split("/").filter((p) => p.length > 0).map(decodeURIComponent);
    } catch {
      return problem(res, 400, "E_ADMIN_BAD_PATH", `the path ${JSON.stringify(url.pathname)} is not valid percent-encoding`);
    }
    const methods = this.methodsOf(parts);
    const asked = req.method ?? "GET";
    if (methods === null) return problem(res, 404, "E_ADMIN_NOT_FOUND", `no admin endpoint ${asked} ${url.pathname}`);
    // HEAD is GET without the body: node:http leaves the body of an answer to HEAD out by itself.
    const method = asked === "HEAD" ? "GET" : asked;
    if (!methods.includes(method)) {
      const allow = methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
      res.setHeader("allow", allow);
      return problem(res, 405, "E_ADMIN_METHOD_NOT_ALLOWED", `${asked} is not allowed on ${url.pathname}; allowed: ${allow}`);
    }
    if (method !== "GET") {
      const why = this.crossSite(req);
      if (why !== null) {
        this.deps.log.warn({ method: asked, url: req.url, remote: req.socket.remoteAddress, origin: req.headers.origin ?? null }, "admin request refused: cross-site");
        return problem(res, 403, "E_ADMIN_CROSS_SITE", `a request from a browser page of another site is refused (${why})`);
      }
    }
    const { registry } = this.deps;
    const path = parts.join("/");

    if (path === "healthz") return json(res, 200, { status: "ok" });
    if (path === "readyz") {
      const r = this.deps.ready();
      if (typeof r === "boolean") return json(res, r ? 200 : 503, { status: r ? "ready" : "starting" });
      return json(res, r.ready ? 200 : 503, { status: r.status, missing: r.missing, refused: r.refused });
    }
    if (path === "metrics") {
      const m = await this.deps.metrics!();
      res.writeHead(200, { "content-type": m.contentType, "content-length": Buffer.byteLength(m.body) });
      res.end(m.body);
      return;
    }
    if (path === "plugins") {
      const counts = await this.deps.pluginCounts?.();
      const loaded = registry
        .list()
        .sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : 1))
        .map(pluginView)
        .map((v) => {
          const c = counts?.get(v.name);
          return c === undefined ? v : { ...v, calls: c.calls, failures: c.failures, failuresByKind: c.failuresByKind, quarantines: c.quarantines, workers: c.workers };
        });
      // A refused bundle is listed too, after the loaded ones: a swap refused keeps its old version serving
      // (the same name twice: one "ready", one "refused"), a first load refused is only "refused".
      const refused = (this.deps.refused?.() ?? []).map((r) => ({ name: r.name, dir: r.dir, state: "refused", code: r.code, message: r.message }));
      return json(res, 200, { generation: registry.generation, plugins: [...loaded, ...refused] });
    }
    if (path === "clusters") return json(res, 200, { clusters: this.deps.clusters.list() });
    if (path === "workers") return json(res, 200, { workers: await this.deps.workers!() });
    if (path === "config") return json(res, 200, this.deps.config!());
    if (path === "explain") return this.explain(req, res);
    if (parts[0] === "clusters") return this.putHosts(req, res, parts[1]!);
    // plugins/<name>/config
    if (method === "PUT") return this.pushConfig(req, res, parts[1]!);
    const p = registry.get(parts[1]!);
    if (!p) return problem(res, 404, "E_ADMIN_NOT_FOUND", `no plugin named "${parts[1]}" is loaded`);
    const body = p.config;
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), etag: `"${p.configVersion}"`, "x-config-version": String(p.configVersion) });
    res.end(body);
  }

  private async pushConfig(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    if (!this.authorized(req, res)) return;
    let ifMatch: number | undefined;
    const im = req.headers["if-match"];
    if (im !== undefined) {
      const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(im);
      if (m === null) return problem(res, 400, "E_ADMIN_BAD_IF_MATCH", `If-Match must be a config version number, got ${JSON.stringify(im)}`);
      ifMatch = Number(m[1]);
    }
    try {
      const text = utf8(await readBody(req, MAX_CONFIG_BYTES), "the config");
      const r = await this.deps.pusher.push(name, text, ifMatch);
      // Accepted and persisted: from here on the answer is 200 whatever the workers say; it names the
      // workers that failed to apply it, and they come back with it from the state folder when restarted.
      const spread = (await this.deps.broadcast?.pluginConfig(name, r.version, text)) ?? SINGLE;
      this.deps.log.info({ plugin: name, configVersion: r.version, workers: spread.workers, failedWorkers: spread.failed.length, event: "configured" }, "plugin config pushed");
      return json(res, 200, { plugin: name, configVersion: r.version, ...spreadView(spread) }, { etag: `"${r.version}"` });
    } catch (err) {
      if (err instanceof BodyError) return bodyProblem(res, err);
      if (err instanceof PushError) {
        const status = statusOf(err.code);
        if (status === 413) res.setHeader("connection", "close");
        return problem(res, status, err.code, err.message);
      }
      if (err instanceof ConfigRejected) {
        this.deps.log.warn({ plugin: name, reason: err.reason, event: "config-rejected" }, "plugin rejected a pushed config");
        return problem(res, 400, err.code, err.message, { plugin: name, reason: err.reason });
      }
      if (err instanceof PluginFailure) return problem(res, 400, err.code, err.message, { plugin: name, kind: err.kind });
      throw err;
    }
  }

  private async putHosts(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    if (!this.authorized(req, res)) return;
    let hosts: unknown;
    try {
      hosts = parseJsonBody(utf8(await readBody(req, HOSTS_BODY_LIMIT), "the host list"), "the host list");
    } catch (err) {
      if (err instanceof BodyError) return bodyProblem(res, err);
      throw err;
    }
    try {
      const r = await this.deps.clusters.replaceHosts(name, hosts);
      const spread = (await this.deps.broadcast?.clusterHosts(name, r.version, r.hosts)) ?? SINGLE;
      return json(res, 200, { cluster: name, version: r.version, hosts: r.hosts.length, ...spreadView(spread) });
    } catch (err) {
      if (!(err instanceof SwitchyardError)) throw err;
      return problem(res, statusOf(err.code), err.code, err.message);
    }
  }

  /** Runs plugin code (on instances of its own, see PluginChain.run), so it needs the token like a change. */
  private async explain(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.authorized(req, res)) return;
    // A non-simple content type: a browser cannot send it cross-site without a preflight, which is refused.
    const type = req.headers["content-type"] ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      return problem(res, 415, "E_ADMIN_CONTENT_TYPE", `the sample request must be sent as Content-Type: application/json, got ${type === "" ? "none" : JSON.stringify(type)}`);
    }
    let body: unknown;
    try {
      body = parseJsonBody(utf8(await readBody(req, EXPLAIN_BODY_LIMIT), "the sample request"), "the sample request");
    } catch (err) {
      if (err instanceof BodyError) return bodyProblem(res, err);
      throw err;
    }
    try {
      return json(res, 200, this.deps.explain!(body));
    } catch (err) {
      const e = err as Error & { code?: string; status?: number };
      if (e.code === undefined) throw err;
      return problem(res, e.status ?? 400, e.code, e.message);
    }
  }
}

/** A body that could not be taken: over the limit, the rest is not read, so the connection is closed after. */
function bodyProblem(res: ServerResponse, err: BodyError): void {
  if (err.status === 413) res.setHeader("connection", "close");
  problem(res, err.status, "E_ADMIN_BAD_BODY", err.message);
}

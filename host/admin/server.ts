// The admin API, on loopback by default. Reads are open; every request that changes state needs the bearer
// token (401 otherwise, and nothing changes). Bodies are size-limited; malformed ones get 400 with a reason.
//
//   GET  /healthz  /readyz  /plugins  /plugins/<name>/config  /clusters  /metrics  /workers (--workers N)
//   PUT  /plugins/<name>/config      body: config text; optional If-Match: <config version>
//   PUT  /clusters/<name>/hosts      body: JSON array of hosts (the config's host shape)
//   POST /explain                    body: JSON sample request (see host/explain)

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_CONFIG_BYTES } from "../abi/limits.js";
import { ConfigRejected, PluginFailure } from "../plugin/errors.js";
import { ConfigPusher, PushError } from "../plugin/push.js";
import type { PluginRegistry } from "../plugin/registry.js";
import type { Refusal } from "../plugin/watcher.js";
import type { Readiness } from "../server/readiness.js";
import type { AdminToken } from "./auth.js";
import { BodyError, json, problem, readBody, utf8 } from "./http.js";

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
  /** Each worker's own view (pid, plugins, clusters), for GET /workers. */
  readonly workers?: () => Promise<unknown>;
  readonly log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

const HOSTS_BODY_LIMIT = 16 * 1024 * 1024;
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://admin");
    let parts: string[];
    try {
      parts = url.pathname.split("/").filter((p) => p.length > 0).map(decodeURIComponent);
    } catch {
      return problem(res, 400, "E_ADMIN_BAD_PATH", `the path ${JSON.stringify(url.pathname)} is not valid percent-encoding`);
    }
    const method = req.method ?? "GET";
    const { registry } = this.deps;

    if (method === "GET" && url.pathname === "/healthz") return json(res, 200, { status: "ok" });
    if (method === "GET" && url.pathname === "/readyz") {
      const r = this.deps.ready();
      if (typeof r === "boolean") return json(res, r ? 200 : 503, { status: r ? "ready" : "starting" });
      return json(res, r.ready ? 200 : 503, { status: r.status, missing: r.missing, refused: r.refused });
    }
    if (method === "GET" && url.pathname === "/metrics" && this.deps.metrics) {
      const m = await this.deps.metrics();
      res.writeHead(200, { "content-type": m.contentType });
      res.end(m.body);
      return;
    }
    if (method === "GET" && url.pathname === "/plugins") {
      const loaded = registry.list().sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : 1)).map(pluginView);
      // A refused bundle is listed too, after the loaded ones: a swap refused keeps its old version serving
      // (the same name twice: one "ready", one "refused"), a first load refused is only "refused".
      const refused = (this.deps.refused?.() ?? []).map((r) => ({ name: r.name, dir: r.dir, state: "refused", code: r.code, message: r.message }));
      return json(res, 200, { generation: registry.generation, plugins: [...loaded, ...refused] });
    }
    if (method === "GET" && url.pathname === "/clusters") return json(res, 200, { clusters: this.deps.clusters.list() });
    if (method === "GET" && url.pathname === "/workers" && this.deps.workers) return json(res, 200, { workers: await this.deps.workers() });

    if (parts[0] === "plugins" && parts.length === 3 && parts[2] === "config") {
      const p = registry.get(parts[1]!);
      if (method === "GET") {
        if (!p) return problem(res, 404, "E_ADMIN_NOT_FOUND", `no plugin named "${parts[1]}" is loaded`);
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8", etag: `"${p.configVersion}"`, "x-config-version": String(p.configVersion) });
        res.end(p.config);
        return;
      }
      if (method === "PUT") return this.pushConfig(req, res, parts[1]!);
    }
    if (parts[0] === "clusters" && parts.length === 3 && parts[2] === "hosts" && method === "PUT") return this.putHosts(req, res, parts[1]!);
    if (method === "POST" && url.pathname === "/explain" && this.deps.explain) return this.explain(req, res);
    return problem(res, 404, "E_ADMIN_NOT_FOUND", `no admin endpoint ${method} ${url.pathname}`);
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
        if (err.httpStatus === 413) res.setHeader("connection", "close");
        return problem(res, err.httpStatus, err.code, err.message);
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
      const text = utf8(await readBody(req, HOSTS_BODY_LIMIT), "the host list");
      try {
        hosts = JSON.parse(text);
      } catch (err) {
        return problem(res, 400, "E_ADMIN_BAD_BODY", `the host list is not JSON: ${(err as Error).message}`);
      }
    } catch (err) {
      if (err instanceof BodyError) return bodyProblem(res, err);
      throw err;
    }
    try {
      const r = await this.deps.clusters.replaceHosts(name, hosts);
      const spread = (await this.deps.broadcast?.clusterHosts(name, r.version, r.hosts)) ?? SINGLE;
      return json(res, 200, { cluster: name, version: r.version, hosts: r.hosts.length, ...spreadView(spread) });
    } catch (err) {
      const e = err as Error & { code?: string; status?: number };
      if (e.code === undefined) throw err;
      return problem(res, e.status ?? (e.code.endsWith("NOT_FOUND") || e.code.endsWith("UNKNOWN_CLUSTER") ? 404 : 400), e.code, e.message);
    }
  }

  private async explain(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(utf8(await readBody(req, 1024 * 1024), "the sample request"));
    } catch (err) {
      if (err instanceof BodyError) return bodyProblem(res, err);
      return problem(res, 400, "E_ADMIN_BAD_BODY", `the sample request is not JSON: ${(err as Error).message}`);
    }
    try {
      return json(res, 200, this.deps.explain!(body));
    } catch (err) {
      const e = err as Error & { code?: string };
      return problem(res, 400, e.code ?? "E_EXPLAIN", e.message);
    }
  }
}

/** A body that could not be taken: over the limit, the rest is not read, so the connection is closed after. */
function bodyProblem(res: ServerResponse, err: BodyError): void {
  if (err.status === 413) res.setHeader("connection", "close");
  problem(res, err.status, "E_ADMIN_BAD_BODY", err.message);
}

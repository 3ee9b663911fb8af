// One Switchyard host process: the config's clusters, the plugins folder, the state folder, the listeners and
// the admin API, wired together. start() comes up in an order where nothing serves before it can route:
// state → clusters → plugins → listeners → admin.

import { EventEmitter } from "node:events";
import { readdir } from "node:fs/promises";
import { HostError } from "./errors.js";
import { ClusterNotFoundError } from "../cluster/errors.js";
import { ListenerServer } from "./listener-server.js";
import { SniContexts } from "./sni.js";
import { UpstreamTlsReloader } from "./upstream-tls-reloader.js";
import { CertificateReloader, loadServerCredentials, type ReloadOutcome, type ReloadTiming, type ServerCredentials } from "./tls-credentials.js";
import type { AddressInfo } from "node:net";
import pino, { type Logger } from "pino";
import { ClusterManager } from "../cluster/cluster-manager.js";
import { systemClock, type Clock } from "../cluster/clock.js";
import { OutlierDetector } from "../cluster/outlier.js";
import { DnsDiscovery, type DnsOutcome } from "../cluster/dns-discovery.js";
import type { ActiveHealthChecker } from "../cluster/health-check.js";
import { startHealthChecks } from "./health-checks.js";
import { CircuitBreaker } from "../proxy/circuit-breaker.js";
import { validateHostSpecsInSlices } from "../cluster/host-spec.js";
import type { ClusterInput } from "../cluster/cluster-config.js";
import type { HostSpec, RandomSource } from "../cluster/types.js";
import type { ClusterConfig, Config } from "../config/types.js";
import { normalizeHostList } from "../config/host-list.js";
import { AdminToken } from "../admin/auth.js";
import { adminExposure } from "../admin/exposure.js";
import { AdminServer, type AdminDeps, type Broadcaster, type ClusterAdmin } from "../admin/server.js";
import { parseJsonBody } from "../admin/http.js";
import { sameSpecs } from "../cluster/cluster.js";
import { ConfigPusher } from "../plugin/push.js";
import { PluginRegistry } from "../plugin/registry.js";
import { BundleWatcher, type ScanResult } from "../plugin/watcher.js";
import type { PluginOptions } from "../plugin/plugin.js";
import type { LoadOptions } from "../plugin/bundle.js";
import { PoolRegistry } from "../proxy/pools.js";
import { Forwarder } from "../proxy/forward.js";
import { loadUpstreamTransport, type UpstreamTransport } from "../proxy/transport.js";
import { StateStore } from "../state/store.js";
import { explain, type SampleRequest } from "../explain/explain.js";
import { sandboxOptions, type SandboxSettings } from "../sandbox/options.js";
import { loadSignaturePolicy } from "../plugin/signature.js";
import { tuneEngine } from "./engine.js";
import { attachMetrics, type SwitchyardMetrics } from "../metrics/metrics.js";
import { PluginLogs, type PluginLogOptions } from "../logging/plugin-log.js";
import { readiness, requiredPlugins, type Readiness } from "./readiness.js";
import { Pipeline, type RequestEvent } from "./pipeline.js";
import { buildRouting, type RoutingState } from "./routing.js";
import { chooseHostList, hostListDigest, type HostListChoice, type Pushed } from "./host-sources.js";
import { ReloadRefused, restartOnlyChange, sameSocket, type ConfigStatus, type ReloadOutcome as ConfigReloadOutcome } from "./reload.js";
import { PreparedCluster } from "../cluster/cluster.js";
import { loadConfigFile } from "../config/index.js";
import type { ListenerConfig, OutlierConfig } from "../config/types.js";
import { isDeepStrictEqual } from "node:util";
import { openAccessLog, type AccessDestination } from "../logging/access-destination.js";
import { KeyedQueue } from "../util/keyed-queue.js";

export interface HostOptions {
  readonly config: Config;
  /** Overrides config.switchyard.pluginsDir. */
  readonly pluginsDir?: string | null;
  readonly stateDir?: string | null;
  readonly logger?: Logger;
  readonly random?: RandomSource;
  readonly env?: NodeJS.ProcessEnv;
  /** Listen on the admin address (default true). */
  readonly admin?: boolean;
  readonly plugin?: PluginOptions & LoadOptions;
  readonly observe?: (event: RequestEvent) => void;
  /** CPU budget and memory cap of plugins (default on, 5 ms and 16 MiB unless a bundle says otherwise). */
  readonly sandbox?: SandboxSettings | false;
  /** Rate limit and clock of plugin log lines (sy_log). */
  readonly pluginLogs?: PluginLogOptions;
  readonly broadcast?: Broadcaster;
  /** Watch the plugins folder for changes (default true). */
  readonly watch?: boolean;
  /** Debounce and poll period of the plugins-folder watcher (defaults 200 ms and 1 s). */
  readonly watchTiming?: { readonly debounceMs?: number; readonly pollMs?: number; readonly settleMs?: number };
  /** Open the config's listeners (default true); the primary of `--workers N` routes nothing itself. */
  readonly listen?: boolean;
  /**
   * Write pushes and host lists to the state folder (default true). Workers of `--workers N` only read it at
   * start: the primary persists, then tells them.
   */
  readonly persist?: boolean;
  /** Adds this response header, valued with the process id, to every answer of the listeners (tests). */
  readonly workerHeader?: string;
  /** Reads of the admin API that the primary answers from its workers (GET /workers, /metrics, /plugins counts). */
  readonly workers?: () => Promise<unknown>;
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  readonly pluginCounts?: AdminDeps["pluginCounts"];
  /**
   * The clock and timers of the host (systemClock): request times, Wait verdicts and deadlines of the pipeline
   * and the forwarder's durations, outlier detection, health checks, DNS, HTTP/2 deadlines, the stop's grace.
   */
  readonly clock?: Clock;
  /** Poll period and debounce of the TLS listeners' certificate files and the TLS clusters' files (defaults 1 s and 200 ms). */
  readonly certificateTiming?: ReloadTiming;
  /** How long stop() lets requests in flight finish before it cuts their connections (default 30 s; run --grace). */
  readonly graceMs?: number;
  /** Makes the x-request-id of a request that came without one (default crypto.randomUUID). */
  readonly requestId?: () => string;
  /** The wall clock of GET /config's times (default Date.now). */
  readonly now?: () => number;
}

export function toClusterInput(c: ClusterConfig, hosts: readonly HostSpec[] = c.hosts): ClusterInput {
  return { name: c.name, lbPolicy: c.lbType, fallback: c.fallback, defaultSubset: c.defaultSubset, ...(c.hashHeader ? { hashHeader: c.hashHeader } : {}), hosts };
}

/** Reads every TLS cluster's tls_context; a file that cannot be read or used throws E_TLS_CREDENTIALS. */
export async function loadTransports(config: Config): Promise<Map<string, UpstreamTransport>> {
  const out = new Map<string, UpstreamTransport>();
  for (const c of config.clusters) if (c.tls !== null) out.set(c.name, await loadUpstreamTransport(c.name, c.tls));
  return out;
}

/**
 * Events for observers (metrics): "request" (RequestEvent), "plugin-failed" (plugin, PluginFailure),
 * "plugin-quarantined" (plugin, untilMs, failures), "plugin-recovered" (plugin), "bundle-refused" (Refusal),
 * "listener-closed" (listener, ListenerClose), "certificate-reload" (listener, ReloadOutcome, context index), "upstream-tls-reload" (cluster, UpstreamTlsReloadOutcome), "health-check"
 * (cluster, host, ProbeResult), "health-changed" (cluster, host, healthy, ProbeResult), "dns-refresh" (DnsOutcome),
 * "config-reload" (ConfigReloadOutcome of host/server/reload.ts), "circuit-overflow" (cluster, BreakerLimit),
 * "listener-released" (listener, address: a reload freed the address to bind it again with new settings).
 */
export class SwitchyardHost {
  readonly events = new EventEmitter();
  readonly metrics: SwitchyardMetrics;
  readonly pluginLogs: PluginLogs;
  readonly log: Logger;
  readonly clusters: ClusterManager;
  readonly registry: PluginRegistry;
  readonly pools: PoolRegistry;
  readonly store: StateStore | null;
  readonly pusher: ConfigPusher;
  readonly servers: ServerEntry[] = [];
  /** Each TLS listener's certificate watcher, by its entry: a reload that moves a listener makes a second entry
   * of the same name, and closing the old one must stop the old watcher only. */
  private readonly reloaders = new Map<ServerEntry, CertificateReloader[]>();
  admin: AdminServer | null = null;
  adminAddress: AddressInfo | null = null;
  watcher: BundleWatcher | null = null;
  private ready = false;
  private requiredPlugins: Map<string, string[]>;
  /** The config serving now: opts.config at start, then each applied reload's. */
  private current: Config;
  /** Clusters whose hosts come from a push, with the file's list that push replaced (host-sources.ts). */
  private readonly pushed = new Map<string, Pushed>();
  private forwarder: Forwarder | null = null;
  /** switchyard.access_log's own destination, when the config names one. */
  private accessDestination: AccessDestination | null = null;
  private reloadQueue: Promise<unknown> = Promise.resolve();
  private status: { generation: number; loadedAt: string; applied: number; refused: number; last: ConfigReloadOutcome | null };
  private savedConfigs = new Map<string, { text: string; version: number }>();
  private readonly clusterVersions = new Map<string, number>();
  private readonly clusterQueues = new KeyedQueue();
  /** The outlier detector of each cluster whose config has outlier_detection. */
  private readonly outliers = new Map<string, OutlierDetector>();
  /** The DNS discovery of each STRICT_DNS / DNS_SRV cluster. */
  private readonly discoveries = new Map<string, DnsDiscovery>();
  /** The active health checker of each cluster whose config has health_check (per process, as outliers). */
  private healthCheckers = new Map<string, ActiveHealthChecker>();
  /** The TLS clusters' file watchers, one per cluster with a tls_context (replaced by a config reload). */
  private upstreamTlsReloaders: UpstreamTlsReloader[] = [];
  /** Each TLS cluster's transport as routing holds it; pools are keyed by it, so a reload keeps the objects. */
  private transports: ReadonlyMap<string, UpstreamTransport> = new Map();
  private readonly outlierSettings = new Map<string, OutlierConfig>();
  /** The circuit breaker of each cluster whose config has circuit_breakers, shared by every listener. */
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(private readonly opts: HostOptions) {
    tuneEngine();
    const config = opts.config;
    this.current = config;
    this.status = { generation: 1, loadedAt: new Date((opts.now ?? Date.now)()).toISOString(), applied: 0, refused: 0, last: null };
    this.log = opts.logger ?? pino({ level: config.switchyard.logLevel });
    this.requiredPlugins = requiredPlugins(config);
    this.clusters = new ClusterManager({ random: opts.random ?? Math.random });
    this.pools = new PoolRegistry({ client: config.switchyard.upstreamClient });
    // A host that left its cluster, from any source (config, admin, etcd, DNS): its pool takes no new request
    // and closes once the requests in flight on it finish (PoolRegistry.release). Not while another cluster
    // still has that address: the pool is keyed by address and serves it too.
    this.clusters.onHostsRemoved((_cluster, hosts) => {
      for (const h of hosts) {
        if (this.clusters.names().some((n) => this.clusters.get(n)?.host(h.address) !== undefined)) continue;
        void this.pools.release(h.address);
      }
    });
    const stateDir = opts.stateDir !== undefined ? opts.stateDir : config.switchyard.stateDir;
    this.store = stateDir ? new StateStore(stateDir, undefined, opts.persist === false) : null;
    const pluginLog = this.log.child({ component: "plugins" });
    const clock = opts.plugin?.clock ?? (() => performance.now());
    this.pluginLogs = new PluginLogs(this.log, opts.pluginLogs);
    this.registry = new PluginRegistry({
      sinkFor: (m) => this.pluginLogs.sinkFor(m.name),
      onMissingPlugin: (name) => pluginLog.warn({ plugin: name, event: "missing" }, "a route names a plugin that is not loaded; it is skipped"),
      events: {
        failed: (p, f) => {
          pluginLog.warn({ plugin: p.name, version: p.version, kind: f.kind, err: f.detail, event: "failed" }, "plugin call failed");
          this.events.emit("plugin-failed", p, f);
        },
        quarantined: (p, until, n) => {
          pluginLog.error({ plugin: p.name, version: p.version, failures: n, retryInMs: Math.round(until - clock()), event: "quarantined" }, "plugin quarantined");
          this.events.emit("plugin-quarantined", p, until, n);
        },
        recovered: (p) => {
          pluginLog.info({ plugin: p.name, version: p.version, event: "recovered" }, "plugin recovered from quarantine");
          this.events.emit("plugin-recovered", p);
        },
      },
      ...(opts.sandbox === false ? {} : sandboxOptions(opts.sandbox ?? {})),
      signatures: loadSignaturePolicy(opts.config.switchyard.signatures),
      ...opts.plugin,
    });
    this.metrics = attachMetrics(this, { droppedLogLines: () => this.pluginLogs.droppedByPlugin(), refusedBundles: () => this.watcher?.refused() ?? [], breakers: () => this.breakers.values(), configStatus: () => this.configStatus() });
    // A bundle swapped in later is configured with the last accepted push, kept here as it is persisted.
    this.pusher = new ConfigPusher(this.registry, opts.persist === false ? null : this.store, (name, version, text) => this.savedConfigs.set(name, { text, version }));
  }

  get config(): Config {
    return this.current;
  }

  /**
   * Starts everything; resolves when listeners and the admin API accept connections. A start that fails
   * (a token file that cannot be read, a port in use, a plugins folder that cannot be read, …) stops what it
   * had started before it rejects: nothing is left listening or watching (issue 18).
   */
  async start(): Promise<{ plugins: ScanResult | null }> {
    try {
      return await this.startAll();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  private async startAll(): Promise<{ plugins: ScanResult | null }> {
    const config = this.opts.config;
    // Read first: a bad token file stops the start before anything listens.
    const token = this.opts.admin === false ? null : AdminToken.fromEnvOrFile(this.opts.env ?? process.env, config.switchyard.adminTokenFile ?? undefined);
    const onBad = (file: string, why: string) => this.log.error({ file, err: why }, "state file ignored");
    if (this.store) this.savedConfigs = await this.store.loadPluginConfigs(onBad);
    const savedHosts = this.store ? await this.store.loadClusterHosts(onBad) : new Map<string, Pushed>();

    const choices = config.clusters.map((c) => chooseHostList(c, savedHosts.get(c.name)));
    this.clusters.replaceAll(choices.map((choice, i) => toClusterInput(config.clusters[i]!, choice.hosts)));
    await this.adoptHostChoices(choices);
    await this.startDnsDiscovery(config);

    this.syncOutliers(config);

    this.syncBreakers(config);

    let plugins: ScanResult | null = null;
    const pluginsDir = this.opts.pluginsDir !== undefined ? this.opts.pluginsDir : config.switchyard.pluginsDir;
    if (pluginsDir) {
      await checkPluginsDir(pluginsDir);
      this.watcher = new BundleWatcher(pluginsDir, this.registry, {
        log: this.log.child({ component: "plugins" }),
        savedConfig: (name) => this.savedConfigs.get(name),
        exclusive: (name, fn) => this.pusher.exclusive(name, fn),
        onRefused: (r) => this.events.emit("bundle-refused", r),
        ...this.opts.watchTiming,
      });
      plugins = this.opts.watch === false ? await this.watcher.scan() : await this.watcher.start();
    }

    const transports = this.opts.listen === false ? new Map<string, UpstreamTransport>() : await loadTransports(config);
    this.transports = transports;
    this.watchUpstreamTls(config, transports);
    // The primary of --workers N routes nothing: its workers check the hosts they route to.
    if (this.opts.listen !== false) {
      this.healthCheckers = startHealthChecks(config, { clusters: this.clusters, transports, clock: this.opts.clock ?? systemClock, random: this.opts.random ?? Math.random, log: this.log, events: this.events });
    }
    if (config.switchyard.accessLog !== null && this.opts.listen !== false) this.accessDestination = openAccessLog(config.switchyard.accessLog);
    this.forwarder = new Forwarder({ pools: this.pools, logger: this.accessLog(), clock: this.opts.clock ?? systemClock });
    for (const l of this.opts.listen === false ? [] : config.listeners) {
      // A certificate that cannot be read or used stops the start, naming the listener's tls_context.
      const entry = await this.openListener(l, buildRouting(config, l.routerConfigName, transports, l.upstreamProtocol), await loadListenerCredentials(l));
      this.servers.push(entry);
      this.startListener(entry);
    }

    if (token !== null) {
      this.admin = new AdminServer({
        registry: this.registry,
        pusher: this.pusher,
        clusters: this.clusterAdmin(),
        token,
        ready: () => this.readiness(),
        refused: () => this.watcher?.refused() ?? [],
        metrics: this.opts.metrics ?? (() => this.metrics.scrape()),
        explain: (body) => explain({ config: this.current, clusters: this.clusters, registry: this.registry, routing: (l) => this.routingOf(l) }, body as SampleRequest),
        config: () => this.configStatus(),
        log: this.log.child({ component: "admin" }),
        ...(this.opts.broadcast ? { broadcast: this.opts.broadcast } : {}),
        ...(this.opts.workers ? { workers: this.opts.workers } : {}),
        ...(this.opts.pluginCounts ? { pluginCounts: this.opts.pluginCounts } : {}),
      });
      this.adminAddress = await listenOrExplain("admin API (admin.address)", config.admin.host, config.admin.port, () => this.admin!.listen(config.admin.port, config.admin.host));
      this.log.info({ address: `${this.adminAddress.address}:${this.adminAddress.port}`, tokenConfigured: token.configured }, "admin API started");
      const exposed = adminExposure(config.admin.host, token.configured);
      if (exposed !== null) this.log[exposed.level]({ address: `${this.adminAddress.address}:${this.adminAddress.port}`, tokenConfigured: token.configured, event: "admin-exposed" }, exposed.message);
    }
    this.ready = true;
    this.logSources(choices, "start");
    const r = this.readiness();
    for (const m of r.missing) {
      this.log.warn({ plugin: m.plugin, routes: m.routes, refused: m.refused?.code ?? null, event: "not-ready" }, "not ready: a route requires a plugin that is not loaded (GET /readyz says 503 until it loads)");
    }
    return { plugins };
  }

  /** What listener `l` routes with now: its pipeline's (explain reads it rather than compiling its own). */
  private routingOf(l: ListenerConfig): RoutingState {
    const entry = this.servers.find((s) => s.name === l.name);
    // Every listener of the current config has an open entry; a listener only just added by a reload that is
    // still binding is compiled from the config as the reload will.
    return entry?.pipeline.routing ?? buildRouting(this.current, l.routerConfigName, new Map(), l.upstreamProtocol);
  }

  /** What GET /readyz answers: started, and every plugin a route requires loaded (host/server/readiness.ts). */
  readiness(): Readiness {
    return readiness(this.ready, this.requiredPlugins, (name) => this.registry.get(name) !== undefined, this.watcher?.refused() ?? []);
  }

  /**
   * STRICT_DNS and DNS_SRV clusters (host/cluster/dns-discovery.ts), resolved by the process that owns the
   * host lists (a single host, or the primary of --workers N, which sends each new list to its workers as a
   * PUT /clusters/<name>/hosts does). The first lookup is awaited, bounded by the resolver's timeout and tries.
   */
  private async startDnsDiscovery(config: Config): Promise<void> {
    if (this.opts.persist === false) return;
    const log = this.log.child({ component: "dns" });
    const starts: Promise<DnsOutcome>[] = [];
    for (const c of config.clusters) {
      if (c.discovery === "static" || c.dns === null) continue;
      const d = new DnsDiscovery({
        cluster: c.name,
        mode: c.discovery,
        names: c.hosts.map((h) => {
          const colon = h.address.lastIndexOf(":");
          return c.discovery === "dns_srv" || colon < 0
            ? { name: h.address, port: 0, weight: h.weight, tags: h.tags }
            : { name: h.address.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port: Number(h.address.slice(colon + 1)), weight: h.weight, tags: h.tags };
        }),
        refreshMs: c.dns.refreshMs,
        servers: c.dns.servers,
        clock: this.opts.clock ?? systemClock,
        apply: (hosts) => this.replaceAndSpread(c.name, hosts),
        onRefresh: (o) => {
          for (const f of o.failed) log.warn({ cluster: c.name, name: f.name, code: f.code, event: "dns-failed" }, "DNS lookup failed; the last good hosts of that name stay");
          this.events.emit("dns-refresh", o);
        },
      });
      this.discoveries.set(c.name, d);
      starts.push(d.start());
    }
    await Promise.all(starts);
  }

  /** The outlier detector of a cluster configured with outlier_detection (admin, tests). */
  outlierDetector(cluster: string): OutlierDetector | undefined {
    return this.outliers.get(cluster);
  }

  /** The active health checker of a cluster configured with health_check (tests). */
  healthChecker(cluster: string): ActiveHealthChecker | undefined {
    return this.healthCheckers.get(cluster);
  }

  /**
   * One outlier detector per cluster with outlier_detection, as `config` says: a detector whose cluster and
   * settings stay is kept (with its ejections), others are closed or made.
   */
  /**
   * One circuit breaker per cluster with circuit_breakers, as `config` says: a breaker whose settings stay is
   * kept (the requests it counts are still in flight), others are replaced or dropped.
   */
  private syncBreakers(config: Config): void {
    const wanted = new Map(config.clusters.filter((c) => c.circuitBreakers !== null).map((c) => [c.name, c.circuitBreakers!]));
    for (const [name, b] of this.breakers) if (!isDeepStrictEqual(wanted.get(name), b.settings)) this.breakers.delete(name);
    for (const [name, settings] of wanted) {
      if (!this.breakers.has(name)) this.breakers.set(name, new CircuitBreaker(name, settings, { overflow: (limit) => this.events.emit("circuit-overflow", name, limit) }));
    }
  }

  /** The circuit breaker of a cluster configured with circuit_breakers (tests). */
  circuitBreaker(cluster: string): CircuitBreaker | undefined {
    return this.breakers.get(cluster);
  }

  private syncOutliers(config: Config): void {
    const log = this.log.child({ component: "outlier" });
    const wanted = new Map(config.clusters.filter((c) => c.outlier !== null).map((c) => [c.name, c.outlier!]));
    for (const [name, d] of this.outliers) {
      if (isDeepStrictEqual(wanted.get(name), this.outlierSettings.get(name))) continue;
      d.close();
      this.outliers.delete(name);
      this.outlierSettings.delete(name);
    }
    for (const [name, settings] of wanted) {
      const cluster = this.clusters.get(name);
      if (this.outliers.has(name) || cluster === undefined) continue;
      this.outlierSettings.set(name, settings);
      this.outliers.set(name, new OutlierDetector(cluster, settings, this.opts.clock ?? systemClock, {
        ejected: (h, forMs, ejections) => log.warn({ cluster: name, host: h.address, forMs, ejections, event: "ejected" }, "host ejected after consecutive failures"),
        returned: (h) => log.info({ cluster: name, host: h.address, event: "returned" }, "ejected host back in rotation"),
      }));
    }
  }

  /**
   * A reload's health checkers and DNS discoveries: those of clusters whose settings stay keep running (with
   * their hosts' health and last good answers); those of changed or removed clusters stop; new ones start.
   */
  private syncHealthAndDns(current: Config, next: Config, transports: ReadonlyMap<string, UpstreamTransport>): void {
    const before = new Map(current.clusters.map((c) => [c.name, c]));
    const same = (c: ClusterConfig, fields: readonly (keyof ClusterConfig)[]) => {
      const old = before.get(c.name);
      return old !== undefined && fields.every((f) => isDeepStrictEqual(old[f], c[f]));
    };
    const health = next.clusters.filter((c) => !same(c, ["healthCheck", "tls"]));
    const dns = next.clusters.filter((c) => !same(c, ["discovery", "hosts", "dns"]));
    const stays = (name: string, changed: readonly ClusterConfig[]) => next.clusters.some((c) => c.name === name) && !changed.some((c) => c.name === name);
    for (const [name, h] of this.healthCheckers) {
      if (stays(name, health)) continue;
      h.close();
      this.healthCheckers.delete(name);
    }
    for (const [name, d] of this.discoveries) {
      if (stays(name, dns)) continue;
      d.stop();
      this.discoveries.delete(name);
    }
    if (this.opts.listen !== false) {
      const started = startHealthChecks({ ...next, clusters: health }, { clusters: this.clusters, transports, clock: this.opts.clock ?? systemClock, random: this.opts.random ?? Math.random, log: this.log, events: this.events });
      for (const [name, h] of started) this.healthCheckers.set(name, h);
    }
    // Resolving can take a lookup's timeout: the reload does not wait for it (a DNS cluster serves its last list).
    void this.startDnsDiscovery({ ...next, clusters: dns }).catch((err: Error) => this.log.error({ err: err.message }, "DNS discovery failed to start after a reload"));
  }

  /** Where access-log lines go: switchyard.access_log's destination, else the app log. */
  private accessLog(): Logger {
    return this.accessDestination?.logger ?? this.log.child({ component: "access" });
  }

  /** Makes a listener's pipeline and server and binds it; nothing is left open when the bind fails. */
  private async openListener(l: ListenerConfig, routing: RoutingState, credentials: readonly ServerCredentials[]): Promise<ServerEntry> {
    const pipeline = new Pipeline(routing, {
      clusters: this.clusters,
      registry: this.registry,
      forwarder: this.forwarder!,
      log: this.accessLog(),
      random: this.opts.random ?? Math.random,
      listener: l.name,
      clock: this.opts.clock ?? systemClock,
      outliers: (cluster) => this.outliers.get(cluster),
      breakers: (cluster) => this.breakers.get(cluster),
      ...(this.opts.requestId ? { requestId: this.opts.requestId } : {}),
      observe: (e) => {
        this.opts.observe?.(e);
        this.events.emit("request", e);
      },
    });
    const tag = this.opts.workerHeader;
    const pid = String(process.pid);
    const handler = tag === undefined ? pipeline.handle.bind(pipeline) : (req: Parameters<Pipeline["handle"]>[0], res: Parameters<Pipeline["handle"]>[1]) => {
      res.setHeader(tag, pid);
      pipeline.handle(req, res);
    };
    const sni = credentials.length > 1 ? new SniContexts(l.tlsContexts.map((t) => t.serverName), credentials) : null;
    const server = ListenerServer.create(l, {
      credentials: credentials[0] ?? null,
      sni,
      handler,
      closed: (reason) => this.events.emit("listener-closed", l.name, reason),
      streamReset: () => this.events.emit("http2-stream-reset", l.name),
      clock: this.opts.clock ?? systemClock,
    });
    try {
      const address = await listenOrExplain(`listener ${l.name}`, l.host, l.port, () => server.listen(l.port, l.host));
      return { name: l.name, config: l, server, pipeline, address, credentials, sni };
    } catch (err) {
      server.close(() => undefined);
      throw err;
    }
  }

  /** A bound listener serves: its certificate files are watched, and it is logged. */
  private startListener(entry: ServerEntry): void {
    const l = entry.config;
    const { server, sni } = entry;
    // Each context's files are watched on their own; the first is also the server's default certificate.
    const reloaders = l.tlsContexts.map((tls, i) => new CertificateReloader(l.name, tls, entry.credentials[i]!, (c) => {
      if (i === 0) server.setCredentials(c);
      sni?.replace(i, c);
    }, this.log.child({ component: "tls", ...(sni !== null ? { context: i } : {}) }), this.opts.certificateTiming, (o: ReloadOutcome) => this.events.emit("certificate-reload", l.name, o, i)));
    for (const r of reloaders) r.start();
    if (reloaders.length > 0) this.reloaders.set(entry, reloaders);
    entry.credentials.forEach((c, i) => this.log.info({ listener: l.name, ...(sni !== null ? { context: i, names: c.names } : {}), fingerprint: c.fingerprint, validTo: c.validTo }, "listener serves TLS"));
    this.log.info({ listener: l.name, address: `${entry.address!.address}:${entry.address!.port}` }, "listener started");
  }

  /** Stops accepting on a listener; its requests in flight finish (resolves when its last connection is gone). */
  private closeListener(entry: ServerEntry): Promise<void> {
    const i = this.servers.indexOf(entry);
    if (i >= 0) this.servers.splice(i, 1);
    for (const r of this.reloaders.get(entry) ?? []) r.stop();
    this.reloaders.delete(entry);
    return new Promise<void>((resolve) => {
      entry.server.close(() => resolve());
      entry.server.closeIdleConnections();
    });
  }

  /** Takes the host lists chosen at start or reload: versions continue, pushes the file overrides are forgotten. */
  private async adoptHostChoices(choices: readonly HostListChoice[], config: Config = this.current): Promise<void> {
    for (const ch of choices) {
      if (ch.version > 0) this.clusterVersions.set(ch.cluster, Math.max(ch.version, this.hostsVersion(ch.cluster)));
      if (ch.source === "state") {
        const fileHosts = config.clusters.find((c) => c.name === ch.cluster)!.hosts;
        this.pushed.set(ch.cluster, { hosts: [...ch.hosts], version: ch.version, configHosts: ch.configHosts ?? hostListDigest(fileHosts) });
      } else this.pushed.delete(ch.cluster);
      if (ch.superseded && this.store !== null && this.opts.persist !== false) await this.store.removeClusterHosts(ch.cluster);
    }
  }

  /** Logs where each cluster's host list and each loaded plugin's config came from. */
  private logSources(choices: readonly HostListChoice[], when: "start" | "reload"): void {
    const log = this.log.child({ component: "config" });
    for (const ch of choices) log.info({ cluster: ch.cluster, hostsFrom: ch.source, hostsVersion: this.hostsVersion(ch.cluster), hosts: ch.hosts.length, when, event: "hosts-source" }, `cluster ${ch.cluster}: host list from the ${ch.source === "config" ? "config file" : "state folder"} (${ch.why})`);
    for (const p of this.registry.list()) {
      const pushed = p.configVersion > 0;
      log.info({ plugin: p.name, configFrom: pushed ? "state" : "bundle", configVersion: p.configVersion, when, event: "config-source" }, `plugin ${p.name}: config from ${pushed ? `a push (version ${p.configVersion}, state folder)` : "the bundle's default"}`);
    }
  }

  /** GET /config: where the config came from, its generation, and the last reload. */
  configStatus(): ConfigStatus {
    const st = this.status;
    return { source: this.current.source, generation: st.generation, loadedAt: st.loadedAt, reloads: { applied: st.applied, refused: st.refused }, lastReload: st.last };
  }

  /** Reads the config file again (this config's source unless told another) and reloads it. */
  reloadFromFile(file: string = this.current.source): Promise<ConfigReloadOutcome> {
    return this.reloadWith(file, async () => {
      const { config, warnings } = await loadConfigFile(file);
      for (const w of warnings) this.log.warn({ path: w.path, source: config.source }, `config: ${w.message}`);
      return config;
    });
  }

  /**
   * Swaps in a new config, or refuses it and changes nothing (docs/operations.md, "Reloading the config"):
   * validated, built aside (clusters, routing, TLS files, new listeners bound), then swapped; requests in flight
   * finish on the routing they took. One reload at a time, in the order asked.
   */
  reload(next: Config): Promise<ConfigReloadOutcome> {
    return this.reloadWith(next.source, async () => next);
  }

  private reloadWith(source: string, read: () => Promise<Config>): Promise<ConfigReloadOutcome> {
    const log = this.log.child({ component: "config" });
    const run = this.reloadQueue.catch(() => undefined).then(async (): Promise<ConfigReloadOutcome> => {
      const at = () => new Date((this.opts.now ?? Date.now)()).toISOString();
      let outcome: ConfigReloadOutcome;
      try {
        const changes = await this.applyConfig(await read());
        this.status.generation++;
        this.status.applied++;
        outcome = { ok: true, at: at(), source, generation: this.status.generation, ...changes };
        this.status.loadedAt = outcome.at;
        log.info({ source, generation: outcome.generation, listeners: changes.listeners, clusters: changes.clusters, event: "config-reloaded" }, "config reloaded");
      } catch (err) {
        const e = err as Error & { code?: string; path?: string | null; problems?: readonly { path: string }[] };
        const error = { code: e.code ?? "E_RELOAD", message: e.message, path: e.path ?? e.problems?.[0]?.path ?? null };
        this.status.refused++;
        outcome = { ok: false, at: at(), source, generation: this.status.generation, error };
        log.error({ source, code: error.code, path: error.path, err: error.message, generation: outcome.generation, event: "config-refused" }, "config reload refused; the previous config keeps serving");
      }
      this.status.last = outcome;
      this.events.emit("config-reload", outcome);
      return outcome;
    });
    this.reloadQueue = run;
    return run;
  }

  private async applyConfig(next: Config): Promise<Pick<ConfigReloadOutcome, "listeners" | "clusters">> {
    const current = this.current;
    const restart = restartOnlyChange(current, next, { pluginsDir: this.opts.pluginsDir !== undefined, stateDir: this.opts.stateDir !== undefined });
    if (restart !== null) throw restart;

    // Aside: every cluster validated, every listener's routing compiled, TLS files read, new sockets bound.
    const choices = next.clusters.map((c) => chooseHostList(c, this.pushed.get(c.name)));
    const prepared = choices.map((ch, i) => {
      try {
        return PreparedCluster.from(toClusterInput(next.clusters[i]!, ch.hosts));
      } catch (err) {
        throw new ReloadRefused((err as { code?: string }).code ?? "E_RELOAD_CLUSTER", `cluster ${ch.cluster}: ${(err as Error).message}`, next.clusters[i]!.where, { cause: err });
      }
    });
    const listening = this.opts.listen !== false;
    const { transports, commitTransports } = this.adoptTransports(listening ? await loadTransports(next) : new Map<string, UpstreamTransport>());
    const keep: { entry: ServerEntry; routing: RoutingState; l: ListenerConfig }[] = [];
    const opened: ServerEntry[] = [];
    const reopen: { old: ServerEntry; l: ListenerConfig; routing: RoutingState; credentials: readonly ServerCredentials[] }[] = [];
    const nextNames = new Set(next.listeners.map((l) => l.name));
    const closing = listening ? this.servers.filter((s) => !nextNames.has(s.name)) : [];
    try {
      for (const l of listening ? next.listeners : []) {
        const routing = buildRouting(next, l.routerConfigName, transports, l.upstreamProtocol);
        const old = this.servers.find((s) => s.name === l.name);
        if (old !== undefined && sameSocket(old.config, l)) {
          keep.push({ entry: old, routing, l });
          continue;
        }
        const credentials = await loadListenerCredentials(l);
        // A new socket on the address the old one holds can only be bound once the old one is closed.
        if (old !== undefined && old.config.address === l.address && l.port !== 0) reopen.push({ old, l, routing, credentials });
        else {
          opened.push(await this.openListener(l, routing, credentials));
          if (old !== undefined) closing.push(old);
        }
      }
      // Last before the swap, when nothing else can refuse the reload: a port cannot be held twice (no
      // SO_REUSEPORT in Node 20), so a listener changed on its own address frees it and binds it again.
      opened.push(...(await this.rebindListeners(reopen)));
    } catch (err) {
      await Promise.all(opened.map((e) => new Promise<void>((r) => e.server.close(() => r()))));
      throw err;
    }

    // Swap: clusters first (new routing may name a new cluster), then routing, then what is gone.
    for (const p of prepared) {
      if (this.clusters.get(p.settings.name) === undefined) this.clusters.add(p);
      else this.clusters.replace(p);
    }
    const removedClusters = this.clusters.names().filter((n) => !next.clusters.some((c) => c.name === n));
    this.current = next;
    commitTransports();
    this.requiredPlugins = requiredPlugins(next);
    for (const k of keep) {
      k.entry.pipeline.swap(k.routing);
      k.entry.config = k.l;
    }
    for (const e of opened) {
      this.servers.push(e);
      this.startListener(e);
    }
    for (const e of closing) void this.closeListener(e).then(() => this.log.info({ listener: e.name }, "listener closed (config reload); its last connection ended"));
    for (const r of reopen) void this.closeListener(r.old);
    for (const name of removedClusters) {
      this.clusters.remove(name);
      this.clusterVersions.delete(name);
      if (this.pushed.delete(name) && this.store !== null && this.opts.persist !== false) await this.store.removeClusterHosts(name);
    }
    this.syncOutliers(next);
    this.syncBreakers(next);
    this.syncHealthAndDns(current, next, transports);
    this.watchUpstreamTls(next, transports);
    await this.adoptHostChoices(choices, next);
    this.logSources(choices, "reload");
    const before = new Set(current.clusters.map((c) => c.name));
    return {
      listeners: { added: opened.filter((e) => !this.wasListening(current, e.name)).map((e) => e.name), removed: closing.filter((e) => !nextNames.has(e.name)).map((e) => e.name), replaced: opened.filter((e) => this.wasListening(current, e.name)).map((e) => e.name) },
      clusters: { added: next.clusters.filter((c) => !before.has(c.name)).map((c) => c.name), removed: removedClusters },
    };
  }

  /**
   * A reload's freshly loaded TLS transports, with the objects of clusters that were TLS before kept: pools are
   * keyed by a cluster's transport (host/proxy/pools.ts), so a new object would leave them on the old options
   * (and a reload that changed ca_cert or server_name would not reach their next connections). The kept source
   * takes the new options only when the reload commits (`commitTransports`); its pools' next connections use
   * them (host/proxy/connector.ts), connections open finish on theirs — as a change of the files does.
   */
  private adoptTransports(loaded: ReadonlyMap<string, UpstreamTransport>): { transports: Map<string, UpstreamTransport>; commitTransports: () => void } {
    const transports = new Map<string, UpstreamTransport>();
    const replace: (() => void)[] = [];
    for (const [name, t] of loaded) {
      const old = this.transports.get(name);
      if (old?.tls != null && t.tls != null) {
        const options = t.tls.options;
        transports.set(name, old);
        if (old.tls.options !== options) replace.push(() => old.tls!.replace(options));
      } else transports.set(name, t);
    }
    return {
      transports,
      commitTransports: () => {
        for (const r of replace) r();
        this.transports = transports;
      },
    };
  }

  /**
   * Binds each listener whose socket settings changed on the address it holds: the old socket frees the port
   * (its connections stay open) and the new one binds it. When a bind fails (another process took the port in
   * between), the new sockets of this reload are closed, every old one listens again with its old settings,
   * and the reload is refused naming the listener and address. Returns the new, bound entries.
   */
  private async rebindListeners(reopen: readonly { old: ServerEntry; l: ListenerConfig; routing: RoutingState; credentials: readonly ServerCredentials[] }[]): Promise<ServerEntry[]> {
    const bound: ServerEntry[] = [];
    for (const [i, r] of reopen.entries()) {
      r.old.server.release();
      this.events.emit("listener-released", r.l.name, r.l.address);
      try {
        bound.push(await this.openListener(r.l, r.routing, r.credentials));
      } catch (err) {
        for (const e of bound) {
          e.server.close(() => undefined);
          e.server.closeAllConnections();
        }
        const lost: string[] = [];
        for (const back of reopen.slice(0, i + 1)) {
          try {
            await back.old.server.listen(back.old.config.port, back.old.config.host);
            this.log.warn({ listener: back.old.name, address: back.old.config.address, event: "listener-rebound" }, "config reload refused: the listener listens again with its old settings");
          } catch (again) {
            lost.push(back.old.name);
            this.log.error({ listener: back.old.name, address: back.old.config.address, err: (again as Error).message, event: "listener-rebind-failed" }, "config reload refused, and the listener could not take its address back: it is closed");
          }
        }
        const after = lost.length === 0 ? "nothing changed: the old listener took its address back and serves with its old settings" : `nothing else changed, but ${lost.join(", ")} could not take its address back and no longer listens (reload once the port is free, or restart)`;
        throw new ReloadRefused("E_LISTEN", `${(err as Error).message}; ${after}`, r.l.where, { cause: err });
      }
    }
    return bound;
  }

  /** Watches the files of every TLS cluster of `config` (those of the config before stop being watched). */
  private watchUpstreamTls(config: Config, transports: ReadonlyMap<string, UpstreamTransport>): void {
    for (const r of this.upstreamTlsReloaders) r.stop();
    this.upstreamTlsReloaders = config.clusters.flatMap((c) => {
      const source = transports.get(c.name)?.tls;
      if (c.tls === null || source == null) return [];
      const r = new UpstreamTlsReloader(c.name, c.tls, source, this.log.child({ component: "tls" }), this.opts.certificateTiming, (o) => this.events.emit("upstream-tls-reload", c.name, o));
      r.start();
      return [r];
    });
  }

  private wasListening(config: Config, name: string): boolean {
    return config.listeners.some((l) => l.name === name);
  }

  /** Runs changes to one cluster's host list one after the other, so that versions and files stay in step. */
  private clusterExclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.clusterQueues.run(name, fn);
  }

  /** The version of a cluster's host list: 0 as configured, +1 per accepted PUT /clusters/<name>/hosts. */
  hostsVersion(name: string): number {
    return this.clusterVersions.get(name) ?? 0;
  }

  /**
   * Applies a host list that the primary already validated and persisted, at exactly `version`; an older or
   * equal version is ignored. Returns false when it was stale.
   */
  applyClusterHosts(name: string, version: number, hosts: unknown): Promise<boolean> {
    return this.clusterExclusive(name, async () => {
      const cluster = this.clusters.get(name);
      if (cluster === undefined) throw new ClusterNotFoundError(name);
      if (this.hostsVersion(name) >= version) return false;
      const specs = await validateHostSpecsInSlices(name, normalizeHostList(hosts));
      await cluster.updateInSlices(specs);
      this.clusterVersions.set(name, version);
      this.pushed.set(name, { hosts: [...specs], version, configHosts: hostListDigest(this.current.clusters.find((c) => c.name === name)?.hosts ?? []) });
      return true;
    });
  }

  clusterAdmin(): ClusterAdmin {
    return {
      list: () =>
        this.clusters.names().map((name) => {
          const s = this.clusters.snapshot(name);
          return { name, version: s.version, hostsVersion: this.hostsVersion(name), hosts: s.hosts.map((h) => ({ address: h.address, weight: h.weight, healthy: h.healthy, status: h.status, pending: h.pending, tags: h.tags })) };
        }),
      replaceHosts: (name, hosts) => this.replaceHosts(name, hosts, false),
    };
  }

  /**
   * PUT /clusters/<name>/hosts, and a host list from a config source. Validated in full before anything
   * changes; persisted before it is swapped in. Both the check and the build go in slices with event-loop turns
   * between them, so that a long list does not stall requests; clusterExclusive keeps concurrent updates in
   * order. `unlessSame`: a list equal to the one serving keeps its version (a source listing again at start).
   */
  private replaceHosts(name: string, hosts: unknown, unlessSame: boolean): Promise<{ version: number; hosts: readonly HostSpec[]; changed: boolean }> {
    return this.clusterExclusive(name, async () => {
      const cluster = this.clusters.get(name);
      if (cluster === undefined) throw new ClusterNotFoundError(name);
      const specs = await validateHostSpecsInSlices(name, normalizeHostList(hosts));
      if (unlessSame && sameSpecs(cluster.specs, specs)) return { version: this.hostsVersion(name), hosts: specs, changed: false };
      const version = this.hostsVersion(name) + 1;
      // The push lasts while the file's list is the one it replaces (host/server/host-sources.ts).
      const configHosts = hostListDigest(this.current.clusters.find((c) => c.name === name)?.hosts ?? []);
      await this.store?.saveClusterHosts(name, version, specs, configHosts);
      await cluster.updateInSlices(specs);
      this.clusterVersions.set(name, version);
      this.pushed.set(name, { hosts: [...specs], version, configHosts });
      this.log.info({ cluster: name, hosts: specs.length, version, event: "hosts-updated" }, "cluster hosts replaced");
      return { version, hosts: specs, changed: true };
    });
  }

  /**
   * A host list from a config source (host/fleet/etcd-source.ts), as the text of a PUT /clusters/<name>/hosts
   * body: parsed and validated by that PUT's own code, then sent to every worker as that PUT does.
   */
  async hostsFromSource(name: string, text: string): Promise<{ version: number; hosts: number }> {
    let hosts: unknown;
    try {
      hosts = parseJsonBody(text, "the host list");
    } catch (err) {
      throw new HostError("E_HOSTS_NOT_JSON", (err as Error).message);
    }
    return this.replaceAndSpread(name, hosts);
  }

  /** A host list from a source (etcd, DNS): applied unless equal to the one serving, then sent to every worker. */
  private async replaceAndSpread(name: string, hosts: unknown): Promise<{ version: number; hosts: number }> {
    const r = await this.replaceHosts(name, hosts, true);
    if (r.changed) {
      const spread = await this.opts.broadcast?.clusterHosts(name, r.version, r.hosts);
      if (spread !== undefined && spread.failed.length > 0) this.log.warn({ cluster: name, version: r.version, failedWorkers: spread.failed }, "host list accepted; some workers failed to apply it");
    }
    return { version: r.version, hosts: r.hosts.length };
  }

  /**
   * A push that comes from a config source (host/fleet/etcd-source.ts) rather than the admin API: the same
   * ConfigPusher.push (configure decides, then persist, then swap), then every worker, as PUT /plugins/<name>/config.
   */
  async pushPluginConfig(name: string, config: string): Promise<{ version: number }> {
    const r = await this.pusher.push(name, config);
    const spread = await this.opts.broadcast?.pluginConfig(name, r.version, config);
    if (spread !== undefined && spread.failed.length > 0) this.log.warn({ plugin: name, configVersion: r.version, failedWorkers: spread.failed }, "config accepted; some workers failed to apply it");
    return { version: r.version };
  }

  /** Applies a config the primary accepted and persisted (see ConfigPusher.apply). */
  applyPluginConfig(name: string, version: number, config: string): Promise<"applied" | "stale" | "not-loaded"> {
    return this.pusher.apply(name, version, config);
  }

  async stop(): Promise<void> {
    this.ready = false;
    this.watcher?.stop();
    for (const rs of this.reloaders.values()) for (const r of rs) r.stop();
    for (const r of this.upstreamTlsReloaders) r.stop();
    await drainListeners(this.servers.map((s) => s.server), this.opts.graceMs ?? DEFAULT_GRACE_MS, this.opts.clock ?? systemClock, this.log);
    await this.admin?.close();
    for (const d of this.discoveries.values()) d.stop();
    this.discoveries.clear();
    for (const o of this.outliers.values()) o.close();
    this.outliers.clear();
    for (const h of this.healthCheckers.values()) h.close();
    this.healthCheckers.clear();
    await this.pools.close();
    await this.accessDestination?.close();
    this.accessDestination = null;
  }
}

/** One listener of this process: its config, socket, pipeline and (TLS) credentials. */
export interface ServerEntry {
  readonly name: string;
  config: ListenerConfig;
  readonly server: ListenerServer;
  readonly pipeline: Pipeline;
  address: AddressInfo | null;
  /** One per l.tlsContexts, as loaded when the listener opened; [] cleartext. */
  readonly credentials: readonly ServerCredentials[];
  /** A tls_context_set's contexts by SNI; null for one certificate or none. */
  readonly sni: SniContexts | null;
}

/** Reads and checks every certificate of a listener; one that cannot be used throws E_TLS_CREDENTIALS naming it. */
function loadListenerCredentials(l: ListenerConfig): Promise<ServerCredentials[]> {
  return Promise.all(l.tlsContexts.map((t) => loadServerCredentials(t)));
}

export const DEFAULT_GRACE_MS = 30_000;

/**
 * Stops accepting and lets requests in flight finish within `graceMs`: a connection is closed as soon as it is
 * idle (node:http closes only those idle when close() is called, so they are closed again every 100 ms), and
 * whatever is still open when the grace has passed is cut.
 */
async function drainListeners(servers: readonly ListenerServer[], graceMs: number, clock: Clock, log: Logger): Promise<void> {
  const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  for (const s of servers) s.closeIdleConnections();
  if (servers.length > 0) log.info({ graceMs, event: "draining" }, "listeners closed; requests in flight may finish within the grace");
  const deadline = clock.now() + graceMs;
  let timer: unknown = null;
  const tick = () => {
    for (const s of servers) s.closeIdleConnections();
    if (clock.now() >= deadline) {
      log.warn({ graceMs, event: "grace-passed" }, "stopping: the grace has passed; connections still open are cut");
      for (const s of servers) s.closeAllConnections();
      return;
    }
    timer = clock.setTimeout(tick, Math.min(100, deadline - clock.now()));
  };
  if (servers.length > 0) timer = clock.setTimeout(tick, Math.min(100, graceMs));
  await closed;
  if (timer !== null) clock.clearTimeout(timer);
}

/** A listen that failed (a port in use, an address not on this machine), said with what wanted it. */
async function listenOrExplain(what: string, host: string, port: number, listen: () => Promise<AddressInfo>): Promise<AddressInfo> {
  try {
    return await listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "EADDRINUSE" ? "the port is in use" : e.code === "EADDRNOTAVAIL" ? "the address is not one of this machine's" : e.code === "EACCES" ? "permission denied" : e.message;
    throw new HostError("E_LISTEN", `${what}: cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port}: ${why}`, { cause: err });
  }
}

/**
 * A plugins folder named but unusable (a file, or a folder this process may not read) stops the start. A
 * folder that does not exist yet is not fatal: the watcher loads its bundles when it appears.
 */
async function checkPluginsDir(dir: string): Promise<void> {
  try {
    await readdir(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT") return;
    const why = e.code === "ENOTDIR" ? "it is not a folder" : e.code === "EACCES" ? "permission denied" : e.message;
    throw new HostError("E_PLUGINS_DIR", `plugins folder ${JSON.stringify(dir)} cannot be read: ${why}`, { cause: err });
  }
}

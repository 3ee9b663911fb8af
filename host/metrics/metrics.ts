// Prometheus metrics of one host process, on a registry of its own (never prom-client's global one, so that
// two hosts in one process — tests, workers — never mix their numbers). Counters move from the host's events;
// everything that is state (hosts' pending requests and connection status, plugins' config and bundle
// versions, quarantine state) is read from the live objects at scrape time, so a request pays nothing for it.
//
// Per request the cost is: three nested Map lookups for the (listener, route, cluster) children, one counter
// increment and two histogram observations. Label children are bound once per key and cached: no label object
// is built per request. Per plugin call, nothing here: the chain adds to the plugin's counters (counters.ts),
// and the plugin metrics read those at scrape time.
//
// Under `--workers N` the primary's GET /metrics sums the workers' registries (host/metrics/workers.ts) by each
// metric's `aggregator`: counters, histograms, pending requests and memory are summed; a gauge that is a state
// says what holds in every worker: versions and generations the lowest (`min`: every worker has at least it),
// health the lowest (healthy in every worker), connection status, bundle info and refusals the highest.

import { Counter, Gauge, Registry } from "prom-client";
import { FastCounter, type FastCounterChild, FastHistogram, type FastHistogramChild, ReadCounter, ReadHistogram } from "./fast.js";
import { PLUGIN_CALL_BUCKETS, TIMING_EVERY, type PluginCounters } from "../plugin/counters.js";
import type { PluginFailure } from "../plugin/errors.js";
import type { RouterPlugin } from "../plugin/plugin.js";
import type { Refusal } from "../plugin/watcher.js";
import type { CircuitBreaker } from "../proxy/circuit-breaker.js";
import type { RequestEvent } from "../server/pipeline.js";
import type { SwitchyardHost } from "../server/host.js";

/** What the metrics read of a host: its events, clusters and plugins (a SwitchyardHost has all three). */
export type MetricsSource = Pick<SwitchyardHost, "events" | "clusters" | "registry">;

export interface MetricsOptions {
  /** Prefix of every metric name; "switchyard_" by default. */
  readonly prefix?: string;
  /** Upper bounds of the request duration histogram, in seconds. */
  readonly durationBuckets?: readonly number[];
  /** Dropped plugin log lines by plugin (host/logging PluginLogs.droppedByPlugin), read at scrape time. */
  readonly droppedLogLines?: () => ReadonlyMap<string, number>;
  /** Each cluster's circuit breaker (host/proxy/circuit-breaker.ts), read at scrape time. */
  readonly breakers?: () => Iterable<CircuitBreaker>;
  /** The bundles refused as they are on disk (BundleWatcher.refused), read at scrape time. */
  readonly refusedBundles?: () => readonly Refusal[];
  /** The config generation and whether the last reload applied (SwitchyardHost.configStatus), read at scrape time. */
  readonly configStatus?: () => { readonly generation: number; readonly lastReload: { readonly ok: boolean } | null };
}

/** Loopback proxying is sub-millisecond; the tail reaches route timeouts of seconds. */
const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Status class label by status / 100; a status of 0 (the client got no status line) is "none". */
const STATUS_CLASSES = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"] as const;

const HOST_STATUS = ["unavailable", "connecting", "available"] as const;

interface RouteChildren {
  /** By status class index (STATUS_CLASSES); bound on first use. */
  readonly requests: (FastCounterChild | undefined)[];
  readonly duration: FastHistogramChild;
  readonly upstream: FastHistogramChild;
  readonly retries: FastCounterChild;
}


/** Plugin calls take microseconds; the request buckets would put every call in the first one. */
export { PLUGIN_CALL_BUCKETS };

/**
 * The metrics of one host. `attachMetrics(host)` builds and subscribes one; `scrape()` is what GET /metrics
 * answers.
 *
 * @example
 * const metrics = attachMetrics(host);
 * const { contentType, body } = await metrics.scrape();
 */
export class SwitchyardMetrics {
  readonly registry = new Registry();
  private readonly requests: FastCounter;
  private readonly duration: FastHistogram;
  private readonly upstream: FastHistogram;
  private readonly retries: FastCounter;
  private readonly pluginFailures: Counter<string>;
  private readonly pluginQuarantines: Counter<string>;
  private readonly pluginRecoveries: Counter<string>;
  // listener → route → cluster → children. Nested maps, so that a lookup builds no key string.
  private readonly routeChildren = new Map<string, Map<string, Map<string, RouteChildren>>>();
  private readonly unsubscribe: () => void;

  constructor(source: MetricsSource, opts: MetricsOptions = {}) {
    const p = opts.prefix ?? "switchyard_";
    const registers = [this.registry];
    this.requests = new FastCounter(`${p}requests_total`, "Requests answered, by listener, route, cluster and status class.", ["listener", "route", "cluster", "status_class"], this.registry);
    this.duration = new FastHistogram(`${p}request_duration_seconds`, "Time from request to the end of the answer, routing and upstream included.", ["listener", "route", "cluster"], (opts.durationBuckets ?? DEFAULT_DURATION_BUCKETS), this.registry);
    this.upstream = new FastHistogram(`${p}upstream_duration_seconds`, "Time spent forwarding a request upstream, all attempts, to the end of the response.", ["listener", "route", "cluster"], (opts.durationBuckets ?? DEFAULT_DURATION_BUCKETS), this.registry);
    this.retries = new FastCounter(`${p}upstream_retries_total`, "Upstream attempts beyond the first (only when the request event carries attempts).", ["listener", "route", "cluster"], this.registry);
    // Per plugin: the chain's counters (by name, across versions), read at scrape time.
    const counters = source.registry.counters;
    const each = function* <T>(f: (name: string, c: PluginCounters) => T): Generator<T> {
      for (const [name, c] of counters.entries()) yield f(name, c);
    };
    new ReadCounter(`${p}plugin_calls_total`, "Calls made to a plugin by requests (quarantined skips and explain's dry runs not included).", () => each((plugin, c) => [{ plugin }, c.calls] as const), this.registry);
    new ReadCounter(`${p}plugin_hosts_kept_total`, "Hosts a plugin kept, summed over calls it accepted.", () => each((plugin, c) => [{ plugin }, c.kept] as const), this.registry);
    new ReadCounter(`${p}plugin_hosts_dropped_total`, "Hosts a plugin was offered and did not keep, summed over calls it accepted.", () => each((plugin, c) => [{ plugin }, c.dropped] as const), this.registry);
    new ReadCounter(`${p}plugin_verdicts_total`, "Verdicts a plugin gave: accept, reject, wait.", function* () {
      for (const [plugin, c] of counters.entries()) {
        yield [{ plugin, verdict: "accept" }, c.accept] as const;
        yield [{ plugin, verdict: "reject" }, c.reject] as const;
        yield [{ plugin, verdict: "wait" }, c.wait] as const;
      }
    }, this.registry);
    new ReadCounter(`${p}plugin_quarantined_skips_total`, "Requests for which a plugin was skipped because it was quarantined.", () => each((plugin, c) => [{ plugin }, c.skipped] as const), this.registry);
    new ReadHistogram(`${p}plugin_call_duration_seconds`, `Time of one plugin call, marshaling included; one chain run in ${TIMING_EVERY} is timed (a sample).`, PLUGIN_CALL_BUCKETS,
      () => each((plugin, c) => ({ labels: { plugin }, buckets: c.timeBuckets, sum: c.timedSeconds, count: c.timedCalls })), this.registry);
    this.pluginFailures = new Counter({ name: `${p}plugin_failures_total`, help: "Plugin failures by kind: trap, abort, budget, memory, answer, status, area.", labelNames: ["plugin", "kind"], registers });
    this.pluginQuarantines = new Counter({ name: `${p}plugin_quarantines_total`, help: "Times a plugin was put in quarantine.", labelNames: ["plugin"], registers });
    this.pluginRecoveries = new Counter({ name: `${p}plugin_recoveries_total`, help: "Times a plugin came back from quarantine.", labelNames: ["plugin"], registers });

    const { clusters, registry } = source;
    new Gauge({
      name: `${p}host_pending_requests`, help: "Requests sent to a host and not finished yet.", labelNames: ["cluster", "host"], registers,
      collect() {
        this.reset();
        for (const name of clusters.names()) for (const h of clusters.snapshot(name).hosts) this.set({ cluster: name, host: h.address }, h.pending);
      },
    });
    new Gauge({
      name: `${p}host_connection_status`, help: "1 for the host's current connection status (unavailable, connecting, available).", labelNames: ["cluster", "host", "status"], registers, aggregator: "max",
      collect() {
        this.reset();
        for (const name of clusters.names()) for (const h of clusters.snapshot(name).hosts) this.set({ cluster: name, host: h.address, status: HOST_STATUS[h.status] ?? String(h.status) }, 1);
      },
    });
    new Gauge({
      name: `${p}host_healthy`, help: "1 when the host is healthy, 0 when configured unhealthy or ejected by outlier detection or health checks.", labelNames: ["cluster", "host"], registers, aggregator: "min",
      collect() {
        this.reset();
        for (const name of clusters.names()) for (const h of clusters.snapshot(name).hosts) this.set({ cluster: name, host: h.address }, h.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}cluster_snapshot_version`, help: "Version of the cluster's current host snapshot.", labelNames: ["cluster"], registers, aggregator: "min",
      collect() {
        this.reset();
        for (const name of clusters.names()) this.set({ cluster: name }, clusters.snapshot(name).version);
      },
    });
    new Gauge({
      name: `${p}plugin_config_version`, help: "Config version a plugin serves with (0: its default config).", labelNames: ["plugin"], registers, aggregator: "min",
      collect() {
        this.reset();
        for (const pl of registry.list()) this.set({ plugin: pl.name }, pl.configVersion);
      },
    });
    new Gauge({
      name: `${p}plugin_bundle_info`, help: "1 for each loaded plugin, labelled with its bundle version, order and sha256.", labelNames: ["plugin", "version", "order", "sha256"], registers, aggregator: "max",
      collect() {
        this.reset();
        for (const pl of registry.list()) this.set({ plugin: pl.name, version: pl.version, order: String(pl.order), sha256: pl.bundle.metadata.sha256 }, 1);
      },
    });
    new Gauge({
      name: `${p}plugin_quarantined`, help: "1 while a plugin is quarantined (not called).", labelNames: ["plugin"], registers,
      collect() {
        this.reset();
        for (const pl of registry.list()) this.set({ plugin: pl.name }, pl.quarantined ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}plugin_memory_bytes`, help: "Linear memory of the plugin's live instance (wasm memory grows, never shrinks; capped by budget.memoryPages).", labelNames: ["plugin"], registers,
      collect() {
        this.reset();
        for (const pl of registry.list()) this.set({ plugin: pl.name }, pl.memoryBytes);
      },
    });
    // The process's memory, read at scrape time (no timer, no observer): the standard names of prom-client's
    // default metrics, without the event-loop monitor and GC observer those start for the process's life.
    const memory: [string, string, () => number][] = [
      ["process_resident_memory_bytes", "Resident memory size in bytes.", () => process.memoryUsage.rss()],
      ["nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", () => process.memoryUsage().heapTotal],
      ["nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", () => process.memoryUsage().heapUsed],
      ["nodejs_external_memory_bytes", "Node.js external memory size in bytes (Buffers and ArrayBuffers, not wasm memory).", () => process.memoryUsage().external],
    ];
    for (const [name, help, read] of memory) {
      new Gauge({
        name, help, registers,
        collect() {
          this.set(read());
        },
      });
    }
    new Gauge({
      name: `${p}plugins_generation`, help: "Increases on every plugin swap (bundle loaded, swapped or removed, config pushed).", registers, aggregator: "min",
      collect() {
        this.set(registry.generation);
      },
    });
    const breakers = opts.breakers;
    if (breakers !== undefined) {
      const gauge = (name: string, help: string, read: (u: ReturnType<CircuitBreaker["usage"]>[number]) => number) => new Gauge({
        name, help, labelNames: ["cluster", "limit"], registers,
        collect() {
          this.reset();
          for (const b of breakers()) for (const u of b.usage()) this.set({ cluster: b.cluster, limit: u.limit }, read(u));
        },
      });
      gauge(`${p}circuit_breaker_used`, "What each circuit-breaker limit counts now: requests in flight (max_requests, max_connections), waiting (max_pending_requests), retries in flight (max_retries, retry_budget).", (u) => u.used);
      gauge(`${p}circuit_breaker_max`, "Each circuit-breaker limit (retry_budget: the retries it allows now).", (u) => u.max);
    }
    const dropped = opts.droppedLogLines;
    if (dropped !== undefined) {
      new Counter({
        name: `${p}plugin_log_lines_dropped_total`, help: "Plugin log lines dropped by the per-plugin rate limit.", labelNames: ["plugin"], registers,
        collect() {
          this.reset();
          for (const [plugin, n] of dropped()) this.inc({ plugin }, n);
        },
      });
    }

    const listenerCloses = new Counter({
      name: `${p}listener_connections_closed_total`,
      help: "Client connections a listener closed itself: header_timeout, request_timeout, idle_timeout, connection_limit, connect_refused, tls_handshake_failed, tls_client_certificate_missing, http2_rapid_reset, http2_continuation_flood, http2_flood, http2_protocol_error.",
      labelNames: ["listener", "reason"], registers,
    });
    const onListenerClosed = (listener: string, reason: string) => listenerCloses.labels(listener, reason).inc();
    const certReloads = new Counter({
      name: `${p}tls_certificate_reloads_total`,
      help: "Changes of a TLS listener's certificate files: reloaded (now served), refused (the previous pair keeps serving), unchanged.",
      labelNames: ["listener", "outcome"], registers,
    });
    const onCertReload = (listener: string, o: { kind: string }) => certReloads.labels(listener, o.kind).inc();
    const upstreamTlsReloads = new Counter({
      name: `${p}upstream_tls_reloads_total`,
      help: "Changes of a TLS cluster's files (ca_cert, cert_chain, private_key): reloaded (new connections use them), refused (the previous ones stay), unchanged.",
      labelNames: ["cluster", "outcome"], registers,
    });
    const onUpstreamTlsReload = (cluster: string, o: { kind: string }) => upstreamTlsReloads.labels(cluster, o.kind).inc();
    const resets = new Counter({ name: `${p}http2_streams_reset_total`, help: "HTTP/2 streams the client reset before their response ended (rapid reset, CVE-2023-44487, when many).", labelNames: ["listener"], registers });
    const onStreamReset = (listener: string) => resets.labels(listener).inc();
    const refusedNow = opts.refusedBundles;
    if (refusedNow !== undefined) {
      new Gauge({
        name: `${p}plugin_bundles_refused`, help: "1 for each bundle folder whose current files were refused (by folder, plugin name and code).", labelNames: ["dir", "plugin", "code"], registers, aggregator: "max",
        collect() {
          this.reset();
          for (const r of refusedNow()) this.set({ dir: r.dir, plugin: r.name ?? "", code: r.code }, 1);
        },
      });
    }
    const healthChecks = new Counter({ name: `${p}health_checks_total`, help: "Active health checks of a cluster's hosts, by result (passed, failed).", labelNames: ["cluster", "result"], registers });
    const onHealthCheck = (cluster: string, _host: unknown, r: { ok: boolean }) => healthChecks.labels(cluster, r.ok ? "passed" : "failed").inc();
    const healthChanges = new Counter({ name: `${p}health_transitions_total`, help: "Times active health checks marked a host unhealthy or healthy again.", labelNames: ["cluster", "host", "to"], registers });
    const onHealthChanged = (cluster: string, host: { address: string }, healthy: boolean) => healthChanges.labels(cluster, host.address, healthy ? "healthy" : "unhealthy").inc();
    const configNow = opts.configStatus;
    if (configNow !== undefined) {
      new Gauge({
        name: `${p}config_generation`, help: "The main config's generation: 1 at start, +1 per applied reload.", registers,
        collect() {
          this.set(configNow().generation);
        },
      });
      new Gauge({
        name: `${p}config_last_reload_successful`, help: "0 when the last reload of the main config was refused (the previous config serves), else 1.", registers,
        collect() {
          this.set(configNow().lastReload?.ok === false ? 0 : 1);
        },
      });
    }
    const configReloads = new Counter({ name: `${p}config_reloads_total`, help: "Reloads of the main config file: applied, or refused (nothing changed).", labelNames: ["result"], registers });
    const onConfigReload = (o: { ok: boolean }) => configReloads.labels(o.ok ? "applied" : "refused").inc();
    const overflows = new Counter({ name: `${p}circuit_breaker_overflows_total`, help: "Requests refused (503 E_CIRCUIT_OPEN) or retries not made by a cluster's circuit breaker, by the limit that was reached.", labelNames: ["cluster", "limit"], registers });
    const onOverflow = (cluster: string, limit: string) => overflows.labels(cluster, limit).inc();
    const refusals = new Counter({ name: `${p}plugin_bundle_refusals_total`, help: "Bundles refused (a first load or a swap), by code.", labelNames: ["code"], registers });

    const onRequest = (e: RequestEvent) => this.observe(e);
    const onRefused = (r: Refusal) => refusals.labels(r.code).inc();
    const onFailed = (pl: RouterPlugin, f: PluginFailure) => this.pluginFailures.labels(pl.name, f.kind).inc();
    const onQuarantined = (pl: RouterPlugin) => this.pluginQuarantines.labels(pl.name).inc();
    const onRecovered = (pl: RouterPlugin) => this.pluginRecoveries.labels(pl.name).inc();
    source.events.on("request", onRequest);
    source.events.on("plugin-failed", onFailed);
    source.events.on("plugin-quarantined", onQuarantined);
    source.events.on("plugin-recovered", onRecovered);
    source.events.on("listener-closed", onListenerClosed);
    source.events.on("certificate-reload", onCertReload);
    source.events.on("upstream-tls-reload", onUpstreamTlsReload);
    source.events.on("http2-stream-reset", onStreamReset);
    source.events.on("bundle-refused", onRefused);
    source.events.on("health-check", onHealthCheck);
    source.events.on("health-changed", onHealthChanged);
    source.events.on("config-reload", onConfigReload);
    source.events.on("circuit-overflow", onOverflow);
    this.unsubscribe = () => {
      source.events.off("request", onRequest);
      source.events.off("plugin-failed", onFailed);
      source.events.off("plugin-quarantined", onQuarantined);
      source.events.off("plugin-recovered", onRecovered);
      source.events.off("listener-closed", onListenerClosed);
      source.events.off("certificate-reload", onCertReload);
      source.events.off("upstream-tls-reload", onUpstreamTlsReload);
      source.events.off("http2-stream-reset", onStreamReset);
      source.events.off("bundle-refused", onRefused);
      source.events.off("health-check", onHealthCheck);
      source.events.off("health-changed", onHealthChanged);
      source.events.off("config-reload", onConfigReload);
      source.events.off("circuit-overflow", onOverflow);
    };
  }

  /** Records one answered request. Called by the "request" event; public for benchmarks. */
  observe(e: RequestEvent): void {
    const c = this.childrenOf(e.listener, e.route ?? "", e.cluster ?? "");
    const cls = e.status >= 100 && e.status < 600 ? (e.status / 100) | 0 : 0;
    (c.requests[cls] ??= this.requests.labels(e.listener, e.route ?? "", e.cluster ?? "", STATUS_CLASSES[cls]!)).inc();
    c.duration.observe(e.durationMs / 1000);
    const attempts = e.attempts;
    if (attempts !== undefined && attempts > 1) c.retries.inc(attempts - 1);
    if (e.upstreamMs !== undefined) c.upstream.observe(e.upstreamMs / 1000);
  }

  private childrenOf(listener: string, route: string, cluster: string): RouteChildren {
    let byRoute = this.routeChildren.get(listener);
    if (byRoute === undefined) this.routeChildren.set(listener, (byRoute = new Map()));
    let byCluster = byRoute.get(route);
    if (byCluster === undefined) byRoute.set(route, (byCluster = new Map()));
    let c = byCluster.get(cluster);
    if (c === undefined) {
      c = { requests: [], duration: this.duration.labels(listener, route, cluster), upstream: this.upstream.labels(listener, route, cluster), retries: this.retries.labels(listener, route, cluster) };
      byCluster.set(cluster, c);
    }
    return c;
  }

  /** The Prometheus text exposition: what GET /metrics answers. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Stops listening to the host's events; the registry keeps its last values. */
  detach(): void {
    this.unsubscribe();
  }
}

/** Builds the metrics of `host` and subscribes them to its events. Call before or after host.start(). */
export function attachMetrics(host: MetricsSource, opts: MetricsOptions = {}): SwitchyardMetrics {
  return new SwitchyardMetrics(host, opts);
}

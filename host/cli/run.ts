// `switchyard run --config <file> [--plugins <dir>] [--state <dir>] [--workers N] [--log-level L]
//                 [--source etcd://host:port/prefix] [--host-id ID] [--watch-config] [--grace 30s]`
//
// SIGTERM / SIGINT stop accepting and let requests in flight finish within --grace (default 30s), then cut.
//
// SIGHUP reloads the config file (SwitchyardHost.reloadFromFile); --watch-config also reloads it when its bytes
// change (host/server/config-watcher.ts). With --workers N the primary reloads first, then each worker.
//
// With --workers N (N > 1) this process becomes the primary of N worker processes (host/server/workers.ts):
// the workers share the listeners, the primary keeps the admin API and the state folder. Each worker runs
// this same command again; node:cluster tells it that it is a worker.
// SWITCHYARD_WORKER_HEADER=<name> makes every answer carry that header with the answering process id, so that
// tests can see which worker routed a request.
// With --source, plugin configs and cluster host lists also come from etcd (host/fleet/etcd-source.ts); the primary (or the single
// process) watches it and spreads what it accepts to the workers like a push.

import cluster from "node:cluster";
import pino, { type Logger } from "pino";
import { loadConfigFile, parseDurationMs } from "../config/index.js";
import type { Config } from "../config/types.js";
import { DEFAULT_GRACE_MS, SwitchyardHost, type HostOptions } from "../server/host.js";
import { WorkerLink, WorkerPool } from "../server/workers.js";
import { parseArgs, str, UsageError } from "./args.js";
import { errorLine } from "./error-line.js";
import { createLogger, type LoggerOptions } from "../logging/logger.js";
import { defaultHostId } from "../fleet/keys.js";
import { parseSource, type SourceSettings } from "../fleet/source-url.js";
import { ConfigFileWatcher } from "../server/config-watcher.js";
import { answerMetricsFromWorker, WorkersMetrics } from "../metrics/workers.js";

export interface RunningHost {
  readonly host: SwitchyardHost;
  stop(): Promise<void>;
  /** Reloads the config file: this process, then its workers if it has any. */
  reload(): Promise<unknown>;
}

interface Parsed {
  readonly config: Config;
  readonly logger: Logger;
  readonly workers: number;
  readonly base: HostOptions;
  readonly source: { readonly settings: SourceSettings; readonly hostId: string } | null;
  readonly watchConfig: boolean;
}

/** What `run` accepts: options with a value, and flags (the Dockerfile's and the systemd unit's test reads it). */
export const RUN_OPTIONS = { values: ["config", "plugins", "state", "workers", "log-level", "source", "host-id", "grace"], flags: ["log-pretty", "watch-config"] };

async function parse(args: string[]): Promise<Parsed> {
  const p = parseArgs(args, RUN_OPTIONS);
  const file = str(p, "config");
  if (file === undefined) throw new UsageError("run needs --config <file>");
  const w = str(p, "workers") ?? "1";
  if (!/^[1-9][0-9]{0,2}$/.test(w)) throw new UsageError(`--workers: expected a number of processes 1-999, got ${JSON.stringify(w)}`);
  const sourceText = str(p, "source");
  const settings = sourceText !== undefined ? parseSource(sourceText) : null;
  const hostId = str(p, "host-id") ?? defaultHostId();
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(hostId)) throw new UsageError(`--host-id: letters, digits and . _ : - only (1-128), got ${JSON.stringify(hostId)}`);
  const { config, warnings } = await loadConfigFile(file);
  const level = str(p, "log-level") ?? config.switchyard.logLevel;
  // --log-pretty is for a terminal and needs pino-pretty (a development dependency); JSON lines otherwise.
  const logger = p.options.has("log-pretty")
    ? await createLogger({ level: level as LoggerOptions["level"], pretty: true })
    : pino({ level, ...(cluster.isWorker ? { base: { pid: process.pid, worker: cluster.worker!.id } } : {}) });
  if (!cluster.isWorker) for (const w of warnings) logger.warn({ path: w.path, source: config.source }, `config: ${w.message}`);
  const graceText = str(p, "grace");
  const grace = graceText === undefined ? undefined : parseDurationMs(graceText);
  if (typeof grace === "string") throw new UsageError(`--grace: ${grace} (a duration such as "30s" or "500ms")`);
  const graceMs = grace;
  const header = process.env.SWITCHYARD_WORKER_HEADER;
  const base: HostOptions = {
    config,
    logger,
    ...(str(p, "plugins") !== undefined ? { pluginsDir: str(p, "plugins")! } : {}),
    ...(str(p, "state") !== undefined ? { stateDir: str(p, "state")! } : {}),
    ...(header ? { workerHeader: header.toLowerCase() } : {}),
    ...(graceMs !== undefined ? { graceMs } : {}),
  };
  return { config, logger, workers: Number(w), base, source: settings === null ? null : { settings, hostId }, watchConfig: p.options.has("watch-config") };
}

export async function startFromArgs(args: string[]): Promise<RunningHost> {
  const { logger, workers, base, source, watchConfig } = await parse(args);
  if (cluster.isWorker) return startWorker(base);
  let running = workers > 1 ? await startPrimary(base, workers, logger) : await startSingle(base, logger);
  if (source !== null) running = await withSource(running, source.settings, source.hostId);
  return watchConfig ? await withConfigWatch(running) : running;
}

/** --watch-config: a change of the file's bytes reloads it, as SIGHUP does. */
async function withConfigWatch(running: RunningHost): Promise<RunningHost> {
  const watcher = new ConfigFileWatcher({ file: running.host.config.source, changed: () => running.reload() });
  await watcher.start();
  running.host.log.info({ file: running.host.config.source }, "watching the config file for changes");
  return {
    ...running,
    stop: async () => {
      watcher.stop();
      await running.stop();
    },
  };
}

async function startSingle(base: HostOptions, logger: Logger): Promise<RunningHost> {
  const host = new SwitchyardHost(base);
  const { plugins } = await host.start();
  for (const r of plugins?.refused ?? []) logger.error({ dir: r.dir, code: r.code }, `bundle refused at start: ${r.message}`);
  return { host, stop: () => host.stop(), reload: () => host.reloadFromFile() };
}

/**
 * Watches etcd once the host serves from its state folder; the source stops first, so the host leaves the list.
 * etcd-source.js (and etcd3 and the gRPC client under it) is loaded here, so that a host without --source
 * never carries them (test/startup-imports.test.ts).
 */
async function withSource(running: RunningHost, settings: SourceSettings, hostId: string): Promise<RunningHost> {
  const { EtcdConfigSource } = await import("../fleet/etcd-source.js");
  const { host } = running;
  const source = new EtcdConfigSource(settings, hostId, {
    current: (name) => host.registry.get(name),
    push: (name, config) => host.pushPluginConfig(name, config),
    hosts: (name, text) => host.hostsFromSource(name, text),
  }, host.log.child({ component: "source" }));
  source.start();
  host.log.info({ source: `etcd://${settings.endpoints.join(",")}${settings.prefix}`, hostId }, "config source started");
  return {
    host,
    reload: running.reload,
    stop: async () => {
      await source.stop();
      await running.stop();
    },
  };
}

/** A worker: the listeners, its own plugins and watcher; reads the state folder, never writes it; no admin API. */
async function startWorker(base: HostOptions): Promise<RunningHost> {
  const link = new WorkerLink();
  const host = new SwitchyardHost({ ...base, admin: false, persist: false });
  await host.start();
  answerMetricsFromWorker(host.metrics.registry);
  link.attach(host);
  // The primary is gone (killed): there is nobody to take pushes any more, so stop too.
  process.once("disconnect", () => {
    host.log.warn({}, "primary disconnected; stopping");
    void host.stop().finally(() => process.exit(0));
  });
  return { host, stop: () => host.stop(), reload: () => host.reloadFromFile() };
}

/** The primary: workers first (so that routing works once the admin API answers), then plugins + admin. */
async function startPrimary(base: HostOptions, count: number, logger: Logger): Promise<RunningHost> {
  const pool = new WorkerPool({ count, log: logger.child({ component: "workers" }) });
  await pool.start();
  const metrics = new WorkersMetrics();
  const host = new SwitchyardHost({ ...base, listen: false, broadcast: pool, workers: () => pool.status(), metrics: () => metrics.scrape(), pluginCounts: () => pool.pluginCounts() });
  try {
    const { plugins } = await host.start();
    for (const r of plugins?.refused ?? []) logger.error({ dir: r.dir, code: r.code }, `bundle refused at start: ${r.message}`);
  } catch (err) {
    await pool.stop(1000);
    throw err;
  }
  logger.info({ workers: count, workerPids: pool.workers.map((w) => w.process.pid) }, "workers started");
  return {
    host,
    // The primary validates and applies first; workers read the file only once it was accepted.
    reload: async () => {
      const outcome = await host.reloadFromFile();
      if (outcome.ok) {
        const spread = await pool.reloadConfig();
        if (spread.failed.length > 0) logger.error({ failedWorkers: spread.failed }, "config reloaded by the primary; some workers refused it");
      }
      return outcome;
    },
    stop: async () => {
      await host.stop();
      // Each worker drains within the same --grace; one still there a little after it is killed.
      await pool.stop((base.graceMs ?? DEFAULT_GRACE_MS) + 2_000);
    },
  };
}

export async function run(args: string[]): Promise<number> {
  let running: RunningHost;
  try {
    running = await startFromArgs(args);
  } catch (err) {
    // A start that failed has closed what it opened (SwitchyardHost.start); the exit is forced all the same,
    // since what is not a listener (a worker's IPC channel, a bundle load's instrumenter process) would
    // otherwise keep a half-started process alive, as a missing token file once did (issue 18).
    process.stderr.write(errorLine("run", err));
    process.exit(1);
  }
  await waitForSignal(running);
  // Stopped: nothing more is wanted of this process. A worker's IPC channel, or a bundle load that was under
  // way (its instrumenter process), would otherwise keep it alive after its host stopped.
  process.exit(0);
}

/** Stops gracefully on SIGTERM / SIGINT: listeners stop accepting, requests in flight finish. SIGHUP reloads. */
export function waitForSignal(running: { stop(): Promise<void>; reload?: () => Promise<unknown>; host: SwitchyardHost }): Promise<void> {
  const reload = running.reload;
  if (reload !== undefined) {
    // The reload logs its own outcome ("config reloaded" / "config reload refused").
    process.on("SIGHUP", () => {
      running.host.log.info({ signal: "SIGHUP" }, "reloading the config file");
      void reload().catch((err: Error) => running.host.log.error({ err: err.message }, "config reload failed"));
    });
  }
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      running.host.log.info({ signal }, "stopping");
      void running.stop().then(resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

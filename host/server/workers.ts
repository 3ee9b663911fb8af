// `switchyard run --workers N`: N worker processes (node:cluster) share the listeners; each routes with its
// own clusters, plugin instances and plugins-folder watcher. The primary routes nothing: it owns the admin
// API and the state folder, and loads the plugins itself so that a push is validated by the plugin's own
// configure before anything changes. An accepted push (or host list) is persisted by the primary, then sent
// to every worker over IPC; the admin answer waits for their acknowledgements and says how many applied it
// (`appliedWorkers`). A worker that was not running then (restarted, still starting) reads it from the state
// folder at start or gets it queued, and versions make a late or repeated message harmless.

import { SwitchyardError } from "../plugin/errors.js";
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import type { Broadcaster, PluginCounts, Spread } from "../admin/server.js";
import type { SwitchyardHost } from "./host.js";

const MESSAGE_TYPES = new Set(["plugin-config", "cluster-hosts", "reload-config", "status"]);

/** Primary → worker. */
export type ToWorker =
  | { readonly t: "plugin-config"; readonly id: number; readonly name: string; readonly version: number; readonly config: string }
  | { readonly t: "cluster-hosts"; readonly id: number; readonly name: string; readonly version: number; readonly hosts: readonly object[] }
  | { readonly t: "reload-config"; readonly id: number }
  | { readonly t: "status"; readonly id: number };

/** Worker → primary. */
export type FromWorker =
  | { readonly t: "ready" }
  | { readonly t: "ack"; readonly id: number; readonly ok: true; readonly result?: unknown }
  | { readonly t: "ack"; readonly id: number; readonly ok: false; readonly error: string };

/** What one worker routes with, as GET /workers shows it. */
export interface WorkerStatus {
  readonly pid: number;
  readonly state: "ready";
  readonly generation: number;
  readonly plugins: readonly { name: string; version: string; order: number; sha256: string; configVersion: number; state: string; calls: number; failures: number; failuresByKind: Readonly<Record<string, number>>; quarantines: number }[];
  readonly clusters: readonly { name: string; hostsVersion: number; hosts: number }[];
}

export interface WorkerPoolOptions {
  readonly count: number;
  readonly log: Logger;
  /** How long a broadcast waits for a worker's acknowledgement (default 10 s). */
  readonly ackTimeoutMs?: number;
  /** How long start() waits for every worker to be ready (default 60 s). */
  readonly startTimeoutMs?: number;
}

interface Pending {
  readonly resolve: (m: FromWorker | { t: "gone"; error: string }) => void;
}

/** The primary's side: forks, restarts and talks to the workers. */
export class WorkerPool implements Broadcaster {
  private nextId = 1;
  private readonly pending = new Map<Worker, Map<number, Pending>>();
  private readonly ready = new Set<Worker>();
  private stopping = false;
  private restarts = 0;

  constructor(private readonly opts: WorkerPoolOptions) {}

  /** Forks the workers and resolves when every one of them listens. */
  async start(): Promise<void> {
    const started = Array.from({ length: this.opts.count }, () => this.fork());
    const timeout = this.opts.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all(started),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`workers not ready after ${timeout} ms`)), timeout);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Live workers, ready or starting. */
  get workers(): Worker[] {
    return [...this.pending.keys()];
  }

  private fork(): Promise<void> {
    const worker = cluster.fork();
    this.pending.set(worker, new Map());
    const log = this.opts.log;
    return new Promise<void>((resolve, reject) => {
      worker.on("message", (m: FromWorker) => {
        if (m.t === "ready") {
          this.ready.add(worker);
          log.info({ worker: worker.id, workerPid: worker.process.pid }, "worker ready");
          resolve();
          return;
        }
        if (m.t === "ack") {
          const waiting = this.pending.get(worker);
          const p = waiting?.get(m.id);
          if (p !== undefined) {
            waiting!.delete(m.id);
            p.resolve(m);
          }
        }
      });
      worker.on("exit", (code, signal) => {
        const waiting = this.pending.get(worker);
        this.pending.delete(worker);
        this.ready.delete(worker);
        for (const p of waiting?.values() ?? []) p.resolve({ t: "gone", error: `worker ${worker.process.pid} exited` });
        reject(new Error(`worker ${worker.process.pid} exited (code ${code}, signal ${signal}) before it was ready`));
        if (this.stopping) return;
        // Bounded backoff: a worker that dies at once again and again is restarted at most every 10 s.
        const delay = Math.min(10_000, 250 * 2 ** Math.min(this.restarts++, 6));
        log.error({ worker: worker.id, workerPid: worker.process.pid, code, signal, restartInMs: delay }, "worker exited; restarting it");
        setTimeout(() => {
          if (!this.stopping) this.fork().catch((err: Error) => log.error({ err: err.message }, "restarted worker failed"));
        }, delay).unref();
      });
    });
  }

  /** Sends `make(id)` to every live worker and collects the answers (or why there was none). */
  private async ask(make: (id: number) => ToWorker, to: Worker[] = this.workers): Promise<{ pid: number; answer: FromWorker | { t: "gone"; error: string } }[]> {
    const timeout = this.opts.ackTimeoutMs ?? 10_000;
    return Promise.all(
      to.map((worker) => {
        const id = this.nextId++;
        const pid = worker.process.pid ?? 0;
        return new Promise<{ pid: number; answer: FromWorker | { t: "gone"; error: string } }>((resolve) => {
          const waiting = this.pending.get(worker)!;
          const timer = setTimeout(() => {
            waiting.delete(id);
            resolve({ pid, answer: { t: "gone", error: `no answer within ${timeout} ms` } });
          }, timeout);
          waiting.set(id, {
            resolve: (answer) => {
              clearTimeout(timer);
              resolve({ pid, answer });
            },
          });
          try {
            worker.send(make(id));
          } catch (err) {
            waiting.delete(id);
            clearTimeout(timer);
            resolve({ pid, answer: { t: "gone", error: (err as Error).message } });
          }
        });
      }),
    );
  }

  private async broadcast(make: (id: number) => ToWorker): Promise<Spread> {
    const answers = await this.ask(make);
    let workers = 0;
    const failed: { pid: number; error: string }[] = [];
    for (const { pid, answer } of answers) {
      if (answer.t === "ack" && answer.ok) workers++;
      else failed.push({ pid, error: answer.t === "ack" && !answer.ok ? answer.error : answer.t === "gone" ? answer.error : "unexpected answer" });
    }
    if (failed.length > 0) this.opts.log.error({ failed }, "a change did not reach every worker");
    return { workers, failed };
  }

  pluginConfig(name: string, version: number, config: string): Promise<Spread> {
    return this.broadcast((id) => ({ t: "plugin-config", id, name, version, config }));
  }

  clusterHosts(name: string, version: number, hosts: readonly object[]): Promise<Spread> {
    return this.broadcast((id) => ({ t: "cluster-hosts", id, name, version, hosts }));
  }

  /** Every worker reads the main config file again (after the primary applied it: SIGHUP, --watch-config). */
  reloadConfig(): Promise<Spread> {
    return this.broadcast((id) => ({ t: "reload-config", id }));
  }

  /** Every worker's own view, for GET /workers. */
  async status(): Promise<unknown[]> {
    // A worker still starting would answer only once it listens: say so instead of waiting for it.
    const starting = this.workers.filter((w) => !this.ready.has(w)).map((w) => ({ pid: w.process.pid, state: "starting" }));
    const answers = await this.ask((id) => ({ t: "status", id }), this.workers.filter((w) => this.ready.has(w)));
    return [
      ...answers.map(({ pid, answer }) => (answer.t === "ack" && answer.ok ? answer.result : { pid, state: "gone", error: answer.t === "gone" ? answer.error : "no status" })),
      ...starting,
    ];
  }

  /** Each plugin's counters summed over the ready workers, with each worker's own, for GET /plugins. */
  async pluginCounts(): Promise<Map<string, PluginCounts>> {
    const out = new Map<string, { calls: number; failures: number; failuresByKind: Record<string, number>; quarantines: number; workers: PluginCounts["workers"][number][] }>();
    for (const s of (await this.status()) as Partial<WorkerStatus>[]) {
      if (s.state !== "ready" || s.plugins === undefined) continue;
      for (const p of s.plugins) {
        let t = out.get(p.name);
        if (t === undefined) out.set(p.name, (t = { calls: 0, failures: 0, failuresByKind: {}, quarantines: 0, workers: [] }));
        t.calls += p.calls;
        t.failures += p.failures;
        t.quarantines += p.quarantines;
        for (const [k, n] of Object.entries(p.failuresByKind)) t.failuresByKind[k] = (t.failuresByKind[k] ?? 0) + n;
        t.workers.push({ pid: s.pid!, configVersion: p.configVersion, state: p.state, calls: p.calls, failures: p.failures, quarantines: p.quarantines });
      }
    }
    return out;
  }

  /** Stops the workers gracefully (SIGTERM: requests in flight finish), killing those still there after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const exits = this.workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          w.once("exit", () => resolve());
          const timer = setTimeout(() => w.process.kill("SIGKILL"), graceMs);
          timer.unref();
          w.process.kill("SIGTERM");
        }),
    );
    await Promise.all(exits);
  }
}

/** The worker's side: applies what the primary sends, in order, once `host` has started. */
export class WorkerLink {
  private host: SwitchyardHost | null = null;
  private queue: ToWorker[] = [];
  private chain: Promise<void> = Promise.resolve();

  /** Listens at once, so that nothing sent while the host starts is lost. */
  constructor() {
    process.on("message", (m: ToWorker) => {
      // The same channel carries prom-client's metric requests (host/metrics/workers.ts): not ours.
      if (typeof m !== "object" || m === null || !MESSAGE_TYPES.has((m as { t?: unknown }).t as string)) return;
      if (this.host === null) this.queue.push(m);
      else this.handle(m);
    });
  }

  /** The host is up: apply what was queued, then tell the primary this worker is ready. */
  attach(host: SwitchyardHost): void {
    this.host = host;
    for (const m of this.queue.splice(0)) this.handle(m);
    void this.chain.then(() => send({ t: "ready" }));
  }

  private handle(m: ToWorker): void {
    // One after the other: a host list and a config applied in the order the primary accepted them.
    this.chain = this.chain.then(async () => {
      try {
        send({ t: "ack", id: m.id, ok: true, result: await this.apply(m) });
      } catch (err) {
        const e = err as Error & { code?: string };
        this.host!.log.error({ message: m.t, err: e.message, code: e.code }, "worker could not apply a change from the primary");
        send({ t: "ack", id: m.id, ok: false, error: `${e.code ? e.code + ": " : ""}${e.message}` });
      }
    });
  }

  private async apply(m: ToWorker): Promise<unknown> {
    const host = this.host!;
    if (m.t === "plugin-config") {
      const outcome = await host.applyPluginConfig(m.name, m.version, m.config);
      host.log.info({ plugin: m.name, configVersion: m.version, outcome, event: "configured" }, "plugin config applied from the primary");
      return outcome;
    }
    if (m.t === "cluster-hosts") {
      const applied = await host.applyClusterHosts(m.name, m.version, m.hosts);
      host.log.info({ cluster: m.name, version: m.version, hosts: m.hosts.length, applied, event: "hosts-updated" }, "cluster hosts applied from the primary");
      return applied;
    }
    if (m.t === "reload-config") {
      const outcome = await host.reloadFromFile();
      // The reload's own coded error, passed on to the primary as it was (host/server/reload.ts).
      if (!outcome.ok) throw new SwitchyardError(outcome.error!.code, outcome.error!.message);
      return { generation: outcome.generation };
    }
    return workerStatus(host);
  }
}

function workerStatus(host: SwitchyardHost): WorkerStatus {
  return {
    pid: process.pid,
    state: "ready",
    generation: host.registry.generation,
    plugins: host.registry
      .list()
      .sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : 1))
      .map((p) => ({ name: p.name, version: p.version, order: p.order, sha256: p.bundle.metadata.sha256, configVersion: p.configVersion, state: p.state, calls: p.stats.calls, failures: p.stats.failures, failuresByKind: { ...p.stats.failuresByKind }, quarantines: p.stats.quarantines })),
    clusters: host.clusters.names().map((name) => ({ name, hostsVersion: host.hostsVersion(name), hosts: host.clusters.snapshot(name).hosts.length })),
  };
}

function send(m: FromWorker): void {
  if (process.connected) process.send!(m);
}

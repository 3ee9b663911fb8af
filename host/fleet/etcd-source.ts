// Plugin configs from etcd (`switchyard run --source etcd://…`): every key <prefix>/plugins/<name> is listed,
// then watched, and each new value goes through the host's own push path (host/plugin/push.ts: the plugin's
// configure decides, the state folder keeps it, every worker gets it). What the host did is written back as
// lease-bound status keys (host/fleet/keys.ts), so that a host that dies disappears with its lease.
//
// Failures, each handled here:
// - etcd unreachable at start or later: the host keeps serving what it has (its state folder at start) and
//   retries with backoff (100 ms doubling to 5 s); the status keys are rewritten under a new lease.
// - a disconnect while watching: etcd3's watcher reconnects and resumes at the revision after the last one
//   it saw, so no change is lost.
// - the watch revision was compacted (or the watch is cancelled for any reason): list again and reconcile.
// - a burst of writes: only the newest value of a key waiting to be applied is applied (converges on the last).
//
// Who wins against an admin push (PUT /plugins/<name>/config): etcd's value, each time its key changes and
// each time a host starts; an admin push lasts until then (docs/fleet.md).

import { hostname } from "node:os";
import type { Etcd3, IKeyValue, Lease, Watcher } from "etcd3";
import { ConfigRejected, PluginFailure } from "../plugin/errors.js";
import { PushError } from "../plugin/push.js";
import { memberKey, pluginsPrefix, statusKey, type Member, type PluginStatus } from "./keys.js";
import { etcdClient, type SourceSettings } from "./source-url.js";

/** The host as a config source sees it: what each plugin runs, and the push path. */
export interface ConfigTarget {
  current(name: string): { readonly config: string; readonly configVersion: number } | undefined;
  push(name: string, config: string): Promise<{ readonly version: number }>;
}

export interface SourceLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

export const defaultHostId = (): string => `${hostname()}-${process.pid}`;

export class EtcdConfigSource {
  private readonly client: Etcd3;
  private readonly statuses = new Map<string, PluginStatus>();
  /** The newest value seen per plugin, and the revision handled last: the gap is the work to do. */
  private readonly latest = new Map<string, { revision: number; text: string }>();
  private readonly handled = new Map<string, number>();
  private readonly draining = new Map<string, Promise<void>>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private readonly member: Member;
  private lease: Lease | null = null;
  private watcher: Watcher | null = null;
  private endWatch: (() => void) | null = null;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  /** Ends the flush's backoff pause early: etcd answered again, so the status can be written now. */
  private wakeFlush: (() => void) | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly settings: SourceSettings,
    readonly hostId: string,
    private readonly target: ConfigTarget,
    private readonly log: SourceLog,
  ) {
    this.client = etcdClient(settings);
    this.member = { host: hostId, pid: process.pid, startedAt: new Date().toISOString() };
  }

  /** Starts listing and watching in the background; never waits for etcd (the host serves meanwhile). */
  start(): void {
    this.loop = this.run();
    void this.flush();
  }

  /** Stops watching and revokes the lease, so that this host leaves the status list at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) {
      clearTimeout(t.timer);
      t.wake();
    }
    this.endWatch?.();
    await this.watcher?.cancel().catch(() => undefined);
    await this.loop;
    await this.flushing;
    // Bounded: a host stopping while etcd is down must not hang on it; the lease then expires by itself.
    await Promise.race([this.lease?.revoke().catch(() => undefined), this.pause(1000)]);
    this.client.close();
  }

  private async run(): Promise<void> {
    let delay = MIN_BACKOFF_MS;
    while (!this.stopped) {
      try {
        const revision = await this.list();
        delay = MIN_BACKOFF_MS;
        this.wakeFlush?.();
        await this.watch(revision + 1);
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: (err as Error).message, retryInMs: delay, event: "source-unavailable" }, "etcd unavailable; serving the last applied state");
        await this.pause(delay);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** Lists every plugin key and offers each; resolves the revision the list was taken at. */
  private async list(): Promise<number> {
    const prefix = pluginsPrefix(this.settings.prefix);
    const res = await this.client.getAll().prefix(prefix).exec();
    for (const kv of res.kvs) this.offer(kv);
    this.log.info({ revision: Number(res.header.revision), plugins: res.kvs.length, event: "source-listed" }, "plugin configs listed from etcd");
    return Number(res.header.revision);
  }

  /** Watches from `from`; resolves when the watch ends for good (compacted, cancelled), to list again. */
  private async watch(from: number): Promise<void> {
    const w = await this.client.watch().prefix(pluginsPrefix(this.settings.prefix)).startRevision(String(from)).create();
    this.watcher = w;
    await new Promise<void>((resolve) => {
      this.endWatch = resolve;
      if (this.stopped) resolve();
      w.on("put", (kv) => this.offer(kv));
      w.on("delete", (kv) => this.log.warn({ key: kv.key.toString(), event: "source-deleted" }, "plugin config key deleted in etcd; the host keeps its last config"));
      w.on("disconnected", (err: Error) => this.log.warn({ err: err.message, event: "source-disconnected" }, "etcd watch disconnected; it resumes from the last revision seen"));
      w.on("connected", () => {
        this.log.info({ event: "source-connected" }, "etcd watch connected");
        this.wakeFlush?.();
      });
      w.on("error", (err: Error) => {
        this.log.warn({ err: err.message, event: "source-relist" }, "etcd watch ended; listing again");
        resolve();
      });
    });
    this.endWatch = null;
    this.watcher = null;
    await w.cancel().catch(() => undefined);
  }

  private offer(kv: IKeyValue): void {
    const name = kv.key.toString().slice(pluginsPrefix(this.settings.prefix).length);
    if (name === "" || name.includes("/")) return;
    const revision = Number(kv.mod_revision);
    if (revision <= (this.latest.get(name)?.revision ?? 0)) return;
    this.latest.set(name, { revision, text: kv.value.toString() });
    if (!this.draining.has(name)) {
      const d = this.drain(name).finally(() => this.draining.delete(name));
      this.draining.set(name, d);
    }
  }

  /** Applies the newest value of `name` until nothing newer is waiting. */
  private async drain(name: string): Promise<void> {
    for (;;) {
      const next = this.latest.get(name)!;
      if (next.revision <= (this.handled.get(name) ?? 0)) return;
      this.handled.set(name, next.revision);
      this.report(await this.apply(name, next.revision, next.text));
    }
  }

  private async apply(name: string, revision: number, text: string): Promise<PluginStatus> {
    const base = { host: this.hostId, plugin: name, revision };
    const current = this.target.current(name);
    // Already serving it (from the state folder at start, or listed again): nothing to push.
    if (current !== undefined && current.config === text) return { ...base, state: "applied", configVersion: current.configVersion };
    try {
      const r = await this.target.push(name, text);
      this.log.info({ plugin: name, revision, configVersion: r.version, event: "source-applied" }, "plugin config from etcd applied");
      return { ...base, state: "applied", configVersion: r.version };
    } catch (err) {
      if (err instanceof PushError && err.code === "E_PUSH_UNKNOWN_PLUGIN") return { ...base, state: "not-loaded", message: err.message };
      if (err instanceof ConfigRejected || err instanceof PluginFailure || err instanceof PushError) {
        this.log.warn({ plugin: name, revision, code: err.code, reason: err.message, event: "source-rejected" }, "plugin config from etcd rejected; the old config stays");
        return { ...base, state: "rejected", message: err.message };
      }
      throw err;
    }
  }

  private report(s: PluginStatus): void {
    this.statuses.set(s.plugin, s);
    void this.flush();
  }

  /** Writes the member key and every status under the lease; one writer at a time, retried until done. */
  private flush(): Promise<void> {
    if (this.flushing !== null) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      let delay = MIN_BACKOFF_MS;
      do {
        this.flushAgain = false;
        try {
          const lease = await this.leaseNow();
          await lease.put(memberKey(this.settings.prefix, this.hostId)).value(JSON.stringify(this.member));
          for (const s of [...this.statuses.values()]) await lease.put(statusKey(this.settings.prefix, this.hostId, s.plugin)).value(JSON.stringify(s));
          delay = MIN_BACKOFF_MS;
        } catch {
          if (this.stopped) break;
          await this.pause(delay, (wake) => (this.wakeFlush = wake));
          this.wakeFlush = null;
          delay = Math.min(delay * 2, MAX_BACKOFF_MS);
          this.flushAgain = true;
        }
      } while (this.flushAgain && !this.stopped);
      this.flushing = null;
    })();
    return this.flushing;
  }

  private async leaseNow(): Promise<Lease> {
    if (this.lease !== null) return this.lease;
    const lease = this.client.lease(this.settings.ttlSeconds);
    lease.on("lost", (err: Error) => {
      if (this.lease === lease) this.lease = null;
      if (this.stopped) return;
      this.log.warn({ err: err.message, event: "source-lease-lost" }, "etcd lease lost; writing the status again under a new one");
      void this.flush();
    });
    try {
      await lease.grant();
    } catch (err) {
      lease.removeAllListeners("lost");
      void lease.revoke().catch(() => undefined);
      throw err;
    }
    this.lease = lease;
    return lease;
  }

  private pause(ms: number, onWake?: (wake: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t.timer);
        this.timers.delete(t);
        resolve();
      };
      const t = { timer: setTimeout(done, ms), wake: done };
      this.timers.add(t);
      onWake?.(done);
    });
  }
}

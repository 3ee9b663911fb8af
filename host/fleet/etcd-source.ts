// Plugin configs and cluster host lists from etcd (`switchyard run --source etcd://…`): every key
// <prefix>/plugins/<name> and <prefix>/clusters/<cluster>/hosts is listed, then watched, and each new value
// goes through the host's own path for it: a config through the push path (host/plugin/push.ts: the plugin's
// configure decides, the state folder keeps it, every worker gets it), a host list through the path of PUT
// /clusters/<name>/hosts (SwitchyardHost.hostsFromSource: the same parse and validation, persisted, built
// aside and swapped, sent to every worker). What the host did is written back as lease-bound status keys
// (host/fleet/keys.ts), so that a host that dies disappears with its lease.
//
// Failures, each handled here:
// - etcd unreachable at start or later: the host keeps serving what it has (its state folder at start) and
//   retries with backoff (100 ms doubling to 5 s); the status keys are rewritten under a new lease.
// - a disconnect while watching: etcd3's watcher reconnects (with the same backoff: host/fleet/source-url.ts)
//   and resumes at the revision after the last one it saw, so no change is lost.
// - the watch revision was compacted (or the watch is cancelled for any reason): list again and reconcile.
// - a burst of writes: only the newest value of a key waiting to be applied is applied (converges on the last).
//
// Who wins against the admin API (PUT /plugins/<name>/config, PUT /clusters/<name>/hosts): etcd's value, each
// time its key changes and each time a host starts; an admin change lasts until then (docs/fleet.md).

import type { Etcd3, IKeyValue, Lease, Watcher } from "etcd3";
import { ConfigRejected, PluginFailure } from "../plugin/errors.js";
import { PushError } from "../plugin/push.js";
import { clusterOfKey, clustersPrefix, hostsStatusKey, memberKey, pluginsPrefix, statusKey, type HostsStatus, type Member, type PluginStatus } from "./keys.js";
import { explainEtcdError } from "./etcd-errors.js";
import { etcdClient } from "./etcd-client.js";
import { MAX_BACKOFF_MS, MIN_BACKOFF_MS, type SourceSettings } from "./source-url.js";

/** The host as a config source sees it: what each plugin runs, and the push path. */
export interface ConfigTarget {
  current(name: string): { readonly config: string; readonly configVersion: number } | undefined;
  push(name: string, config: string): Promise<{ readonly version: number }>;
  /**
   * Applies a host list given as etcd holds it (the text of a PUT /clusters/<name>/hosts body); a list equal
   * to the one serving changes nothing. Throws what that PUT would answer with (a `code` and a message).
   */
  hosts(cluster: string, text: string): Promise<{ readonly version: number; readonly hosts: number }>;
}

/** One kind of key the source follows: where its keys live and what the host does with a value. */
interface Kind {
  readonly what: "plugin" | "cluster";
  readonly prefix: string;
  /** The plugin or cluster a key names, or null for a key of another shape (ignored). */
  nameOf(key: string): string | null;
  apply(name: string, revision: number, text: string): Promise<{ key: string; status: PluginStatus | HostsStatus }>;
}

export interface SourceLog {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

export class EtcdConfigSource {
  private readonly client: Etcd3;
  /** The status value to write, by its key. */
  private readonly statuses = new Map<string, PluginStatus | HostsStatus>();
  private readonly kinds: readonly Kind[];
  /** The newest value seen per key, and the revision handled last: the gap is the work to do. */
  private readonly latest = new Map<string, { revision: number; text: string }>();
  private readonly handled = new Map<string, number>();
  private readonly draining = new Map<string, Promise<void>>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private readonly member: Member;
  private lease: Lease | null = null;
  private readonly watchers = new Set<Watcher>();
  private readonly endWatch = new Set<() => void>();
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  /** Ends the flush's backoff pause early: etcd answered again, so the status can be written now. */
  private wakeFlush: (() => void) | null = null;
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly settings: SourceSettings,
    readonly hostId: string,
    private readonly target: ConfigTarget,
    private readonly log: SourceLog,
  ) {
    this.client = etcdClient(settings);
    this.member = { host: hostId, pid: process.pid, startedAt: new Date().toISOString() };
    const p = settings.prefix;
    this.kinds = [
      {
        what: "plugin",
        prefix: pluginsPrefix(p),
        nameOf: (key) => {
          const name = key.slice(pluginsPrefix(p).length);
          return name === "" || name.includes("/") ? null : name;
        },
        apply: async (name, revision, text) => ({ key: statusKey(p, hostId, name), status: await this.applyConfig(name, revision, text) }),
      },
      {
        what: "cluster",
        prefix: clustersPrefix(p),
        nameOf: (key) => clusterOfKey(p, key),
        apply: async (name, revision, text) => ({ key: hostsStatusKey(p, hostId, name), status: await this.applyHosts(name, revision, text) }),
      },
    ];
  }

  /** Starts listing and watching in the background; never waits for etcd (the host serves meanwhile). */
  start(): void {
    this.loops = this.kinds.map((k) => this.run(k));
    void this.flush();
  }

  /** Stops watching and revokes the lease, so that this host leaves the status list at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) {
      clearTimeout(t.timer);
      t.wake();
    }
    for (const end of this.endWatch) end();
    await Promise.all([...this.watchers].map((w) => w.cancel().catch(() => undefined)));
    await Promise.all(this.loops);
    await this.flushing;
    // Bounded: a host stopping while etcd is down must not hang on it; the lease then expires by itself.
    await Promise.race([this.lease?.revoke().catch(() => undefined), this.pause(1000)]);
    this.client.close();
  }

  private async run(kind: Kind): Promise<void> {
    let delay = MIN_BACKOFF_MS;
    while (!this.stopped) {
      try {
        const revision = await this.list(kind);
        delay = MIN_BACKOFF_MS;
        this.wakeFlush?.();
        await this.watch(kind, revision + 1);
      } catch (err) {
        if (this.stopped) break;
        const why = await explainEtcdError(err, this.settings);
        this.log.warn({ err: why.message, retryInMs: delay, event: "source-unavailable" }, "etcd unavailable; serving the last applied state");
        await this.pause(delay);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** Lists every key of `kind` and offers each; resolves the revision the list was taken at. */
  private async list(kind: Kind): Promise<number> {
    const res = await this.client.getAll().prefix(kind.prefix).exec();
    for (const kv of res.kvs) this.offer(kind, kv);
    this.log.info({ revision: Number(res.header.revision), kind: kind.what, keys: res.kvs.length, event: "source-listed" }, `${kind.what} keys listed from etcd`);
    return Number(res.header.revision);
  }

  /**
   * Watches from `from`; resolves when the watch ends for good (compacted, cancelled), to list again. Each watch
   * has a client of its own, closed when it ends: etcd3 keeps one watch stream per client, reconnects it with the
   * auth token it had (an etcd restarted has forgotten it, so etcd cancels every watch created on that stream:
   * "invalid auth token"), and its queue of watches to create stops at a create etcd cancelled, so that no later
   * watch on that client is ever created. A new client authenticates again and has a new stream.
   */
  private async watch(kind: Kind, from: number): Promise<void> {
    const client = etcdClient(this.settings);
    try {
      await this.watchOn(client, kind, from);
    } finally {
      client.close();
    }
  }

  private async watchOn(client: Etcd3, kind: Kind, from: number): Promise<void> {
    const w = await client.watch().prefix(kind.prefix).startRevision(String(from)).create();
    this.watchers.add(w);
    let end = () => undefined as void;
    let cancelledByEtcd = false;
    await new Promise<void>((resolve) => {
      end = resolve;
      this.endWatch.add(end);
      if (this.stopped) resolve();
      w.on("put", (kv) => this.offer(kind, kv));
      w.on("delete", (kv) => this.log.warn({ key: kv.key.toString(), event: "source-deleted" }, `${kind.what} key deleted in etcd; the host keeps what it serves (a deletion is not a value)`));
      w.on("disconnected", (err: Error) => this.log.warn({ err: err.message, event: "source-disconnected" }, "etcd watch disconnected; it resumes from the last revision seen"));
      w.on("connected", () => {
        this.log.info({ event: "source-connected" }, "etcd watch connected");
        this.wakeFlush?.();
      });
      w.on("error", (err: Error) => {
        this.log.warn({ err: err.message, event: "source-relist" }, "etcd watch ended; listing again");
        cancelledByEtcd = true;
        resolve();
      });
    });
    this.endWatch.delete(end);
    this.watchers.delete(w);
    // A watch etcd itself cancelled (a compacted revision; etcd3 emits "error" and has already dropped it) is not
    // cancelled again: etcd answers that second cancel for an id etcd3 no longer knows, etcd3 throws "Failed to
    // find watcher" in its stream handler, and the next watch created on that stream (the one after the re-list)
    // never connects, so the host stalled until a later disconnect. Awaiting that cancel never returned either.
    if (!cancelledByEtcd) void w.cancel().catch(() => undefined);
  }

  private offer(kind: Kind, kv: IKeyValue): void {
    const key = kv.key.toString();
    const name = kind.nameOf(key);
    if (name === null) return;
    const revision = Number(kv.mod_revision);
    if (revision <= (this.latest.get(key)?.revision ?? 0)) return;
    this.latest.set(key, { revision, text: kv.value.toString() });
    if (!this.draining.has(key)) {
      const d = this.drain(kind, key, name).finally(() => this.draining.delete(key));
      this.draining.set(key, d);
    }
  }

  /** Applies the newest value of `key` until nothing newer is waiting. */
  private async drain(kind: Kind, key: string, name: string): Promise<void> {
    for (;;) {
      const next = this.latest.get(key)!;
      if (next.revision <= (this.handled.get(key) ?? 0)) return;
      this.handled.set(key, next.revision);
      const { key: at, status } = await kind.apply(name, next.revision, next.text);
      this.statuses.set(at, status);
      void this.flush();
    }
  }

  private async applyHosts(cluster: string, revision: number, text: string): Promise<HostsStatus> {
    const base = { host: this.hostId, cluster, revision };
    try {
      const r = await this.target.hosts(cluster, text);
      this.log.info({ cluster, revision, hostsVersion: r.version, hosts: r.hosts, event: "source-hosts-applied" }, "cluster host list from etcd applied");
      return { ...base, state: "applied", hostsVersion: r.version, hosts: r.hosts };
    } catch (err) {
      const e = err as Error & { code?: unknown };
      if (typeof e.code !== "string") throw err;
      this.log.warn({ cluster, revision, code: e.code, reason: e.message, event: "source-hosts-rejected" }, "cluster host list from etcd refused; the old list stays");
      return { ...base, state: e.code === "E_CLUSTER_NOT_FOUND" ? "unknown-cluster" : "rejected", message: e.message };
    }
  }

  private async applyConfig(name: string, revision: number, text: string): Promise<PluginStatus> {
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
          for (const [key, s] of [...this.statuses]) await lease.put(key).value(JSON.stringify(s));
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

// Watches the plugins folder (docs/operations.md, "The plugins folder"). Every pass looks at the whole folder:
// each plugin name resolves to one folder (host/plugin/bundle-names.ts), whose bundle is verified, configured
// (persisted config, else its default) and swapped in when its files changed; a refused bundle is logged once
// and the version that was serving keeps serving; a name no folder gives any more is unloaded.
//
// A pass waits until no bundle file has changed for debounceMs, so that a folder copied or renamed is seen
// whole. A folder that looks like a copy in progress (a file missing, metadata.json ending early, a wasm whose
// sha256 does not match yet) is logged at info until it has been unchanged for settleMs, and refused at error
// only then. A slow poll backs up fs.watch, which can miss events (and does not see into a symlinked folder).

import { type FSWatcher, watch } from "node:fs";
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { wallClock, type Clock, type TimerHandle } from "../cluster/clock.js";
import { loadBundle, readMetadataJson, type Bundle } from "./bundle.js";
import { resolveNames, type Candidate } from "./bundle-names.js";
import { BundleError } from "./errors.js";
import type { PluginRegistry } from "./registry.js";

export interface WatcherLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WatcherOptions {
  /** The persisted config of a plugin, if any. */
  readonly savedConfig?: (name: string) => { text: string; version: number } | undefined;
  readonly log: WatcherLog;
  /** Quiet time before a pass acts on a change (ms, default 200). */
  readonly debounceMs?: number;
  /** Quiet time before a bundle that looks half copied is refused (ms, default 5000). */
  readonly settleMs?: number;
  readonly pollMs?: number;
  /** Wall-clock time (compared with file modification times) and timers; the process's by default. */
  readonly clock?: Clock;
  /**
   * Runs a swap or an unload of plugin `name` under that plugin's lock (ConfigPusher.exclusive), so that a
   * push cannot land between reading the saved config and installing the new bundle. Direct by default.
   */
  readonly exclusive?: <T>(name: string, fn: () => T | Promise<T>) => Promise<T>;
  /** Told each time a bundle is refused (metrics count them). */
  readonly onRefused?: (refusal: Refusal) => void;
}

/** A bundle folder whose current files were refused; `name` is its metadata's name when that much reads. */
export interface Refusal {
  readonly dir: string;
  readonly name: string | null;
  readonly code: string;
  readonly message: string;
}

export interface ScanResult {
  readonly loaded: string[];
  readonly refused: { dir: string; code: string; message: string }[];
  readonly removed: string[];
}

/** A bundle folder as one pass saw it. */
interface Folder {
  readonly dir: string;
  readonly entry: string;
  readonly sig: string;
  /** Newest modification or change time of its bundle files (wall-clock ms). */
  readonly newest: number;
  /** The plugin name its metadata.json gives, when it reads that far. */
  readonly name: string | null;
  /** Where a symlinked folder points. */
  readonly target: string | null;
}

/** The folder and files a loaded plugin came from. */
interface Serving {
  readonly dir: string;
  readonly sig: string;
}

/** What the last load of a folder's current files gave, when it did not load. */
interface Attempt {
  readonly sig: string;
  readonly state: "refused" | "incomplete";
}

export class BundleWatcher {
  private folders = new Map<string, Folder>();
  private readonly serving = new Map<string, Serving>();
  private readonly attempts = new Map<string, Attempt>();
  /** The folders whose current files were refused, until they load or go away; `key` says what was logged. */
  private readonly refusals = new Map<string, Refusal & { key: string }>();
  /** Entries that are symbolic links to nothing, told once each. */
  private readonly dangling = new Set<string>();
  private fsWatcher: FSWatcher | undefined;
  private timer: TimerHandle | undefined;
  private timerAt = 0;
  private poll: TimerHandle | undefined;
  private running: Promise<ScanResult> | undefined;
  private queued: Promise<ScanResult> | undefined;
  private stopped = false;
  /** Set by start(): a later pass will come, so a folder still being written may wait for it. */
  private later = false;
  /** Set once start() watches; only then does a pass wait for the folder to be quiet. */
  private watching = false;
  private readonly clock: Clock;

  constructor(readonly dir: string, private readonly registry: PluginRegistry, private readonly opts: WatcherOptions) {
    this.clock = opts.clock ?? wallClock;
  }

  /** The bundles refused as they are now on disk (GET /plugins, /readyz, metrics): the loads refused first. */
  refused(): Refusal[] {
    const all = [...this.refusals.values()].map(({ key: _key, ...r }) => r);
    return [...all.filter((r) => r.code !== "E_BUNDLE_DUPLICATE"), ...all.filter((r) => r.code === "E_BUNDLE_DUPLICATE")];
  }

  /** Loads what is there now, then watches. */
  async start(): Promise<ScanResult> {
    this.later = true;
    const first = await this.scan();
    this.watching = true;
    try {
      this.fsWatcher = watch(this.dir, { recursive: true }, () => this.schedule());
      this.fsWatcher.on("error", (err) => this.opts.log.warn({ err: err.message, dir: this.dir }, "plugins folder watch failed; polling only"));
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message, dir: this.dir }, "plugins folder cannot be watched; polling only");
    }
    this.tick();
    return first;
  }

  stop(): void {
    this.stopped = true;
    this.fsWatcher?.close();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.poll !== undefined) this.clock.clearTimeout(this.poll);
  }

  private tick(): void {
    if (this.stopped) return;
    this.poll = this.clock.setTimeout(() => {
      this.schedule();
      this.tick();
    }, this.opts.pollMs ?? 1000);
  }

  /**
   * A pass in `ms` (the debounce by default), unless one is due sooner: that pass finds a folder still being
   * written and schedules the next itself, so the earliest timer is the only one needed.
   */
  private schedule(ms = this.debounceMs): void {
    if (this.stopped) return;
    const at = this.clock.now() + Math.max(1, ms);
    if (this.timer !== undefined) {
      if (this.timerAt <= at) return;
      this.clock.clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.scan();
    }, Math.max(1, ms));
  }

  /** One pass over the folder. A call while a pass runs resolves with the one pass that follows it. */
  scan(): Promise<ScanResult> {
    if (this.queued) return this.queued;
    if (this.running) {
      this.queued = this.running.catch(() => undefined).then(() => {
        this.queued = undefined;
        return this.runPass();
      });
      return this.queued;
    }
    return this.runPass();
  }

  private runPass(): Promise<ScanResult> {
    const pass = this.scanOnce();
    this.running = pass;
    void pass.finally(() => {
      if (this.running === pass) this.running = undefined;
    }).catch(() => undefined);
    return pass;
  }

  private get debounceMs(): number {
    return this.opts.debounceMs ?? 200;
  }

  private get settleMs(): number {
    return this.opts.settleMs ?? 5000;
  }

  private exclusive<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return this.opts.exclusive ? this.opts.exclusive(name, fn) : Promise.resolve().then(fn);
  }

  /** The bundle folders there now (real folders and symbolic links to folders), without their names yet. */
  private async list(): Promise<{ dir: string; entry: string; target: string | null }[]> {
    let entries;
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (err) {
      this.opts.log.error({ dir: this.dir, err: (err as Error).message }, "plugins folder cannot be read");
      return [];
    }
    const out: { dir: string; entry: string; target: string | null }[] = [];
    for (const e of entries) {
      // A name starting with "." is a place to stage a copy before renaming it in (docs/operations.md).
      if (e.name.startsWith(".")) continue;
      const dir = join(this.dir, e.name);
      if (e.isDirectory()) out.push({ dir, entry: e.name, target: null });
      else if (e.isSymbolicLink()) {
        // A `current -> releases/v2` deploy: followed, and the log says where it points.
        try {
          if (!(await stat(dir)).isDirectory()) continue;
          out.push({ dir, entry: e.name, target: await realpath(dir) });
          this.dangling.delete(dir);
        } catch (err) {
          if (!this.dangling.has(dir)) {
            this.dangling.add(dir);
            this.opts.log.warn({ dir, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message, event: "dangling" }, "plugins folder entry is a symbolic link to nothing; ignored");
          }
        }
      }
    }
    return out;
  }

  /**
   * The signature of a bundle folder's files and their newest change, undefined without a metadata.json. lstat:
   * a symbolic link is itself a change (and refused at load, host/plugin/bundle-files.ts).
   */
  private async signature(bundleDir: string, target: string | null): Promise<{ sig: string; newest: number } | undefined> {
    try {
      // ctime and inode too: a file rewritten in place with the same size within the mtime's granularity, or
      // renamed over, still changes the signature.
      const m = await lstat(join(bundleDir, "metadata.json"));
      const parts = [`${target ?? ""}`, `${m.size}:${m.mtimeMs}:${m.ctimeMs}:${m.ino}`];
      let newest = Math.max(m.mtimeMs, m.ctimeMs);
      for (const f of (await readdir(bundleDir)).sort()) {
        if (!f.endsWith(".wasm")) continue;
        const s = await lstat(join(bundleDir, f));
        parts.push(`${f}:${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`);
        newest = Math.max(newest, s.mtimeMs, s.ctimeMs);
      }
      return { sig: parts.join("|"), newest };
    } catch {
      return undefined; // no metadata.json: not a bundle (yet)
    }
  }

  private async scanOnce(): Promise<ScanResult> {
    const result: ScanResult = { loaded: [], refused: [], removed: [] };
    const now = this.clock.now();
    const next = new Map<string, Folder>();
    for (const { dir, entry, target } of await this.list()) {
      const signed = await this.signature(dir, target);
      if (signed === undefined) continue;
      const before = this.folders.get(dir);
      if (before?.sig === signed.sig) {
        next.set(dir, before);
        continue;
      }
      // Something changed: act once the whole folder is quiet, so that a rename or a copy is seen whole.
      const quietFor = now - signed.newest;
      if (this.watching && quietFor < this.debounceMs) {
        this.schedule(this.debounceMs - quietFor);
        return result;
      }
      next.set(dir, { dir, entry, sig: signed.sig, newest: signed.newest, name: await readName(dir, entry), target });
    }
    this.folders = next;
    for (const dir of [...this.attempts.keys()]) if (!next.has(dir)) this.attempts.delete(dir);
    for (const dir of [...this.refusals.keys()]) if (!next.has(dir)) this.refusals.delete(dir);

    const named: Candidate[] = [];
    for (const f of next.values()) {
      if (f.name !== null) named.push({ dir: f.dir, entry: f.entry, name: f.name });
      // Its metadata.json does not say which plugin it is: loading it says what is wrong.
      else await this.attempt(f, null, result, now);
    }
    const resolved = resolveNames(named);
    for (const [name, r] of resolved) {
      await this.attempt(next.get(r.winner.dir)!, name, result, now);
      for (const loser of r.losers) {
        if (this.serving.get(name)?.dir === loser.dir) continue; // serves while the winner is refused
        const duplicate = new BundleError("E_BUNDLE_DUPLICATE", loser.entry, `plugin ${name} is provided by ${r.winner.dir} (${r.why}); this folder is not loaded`);
        this.refuse(next.get(loser.dir)!, name, duplicate, result);
      }
    }

    // A name no folder gives any more is unloaded, unless the folder it came from is still there with files
    // that did not load: then the serving version keeps serving.
    for (const [name, s] of [...this.serving]) {
      if (resolved.has(name)) continue;
      const folder = next.get(s.dir);
      const providesAnother = [...this.serving].some(([n, o]) => n !== name && o.dir === s.dir && o.sig === folder?.sig);
      if (folder !== undefined && !providesAnother && this.attempts.get(s.dir)?.sig === folder.sig) continue;
      this.serving.delete(name);
      if (await this.exclusive(name, () => this.registry.remove(name))) {
        result.removed.push(name);
        this.opts.log.info({ plugin: name, dir: s.dir, event: "unloaded" }, "plugin bundle removed");
      }
    }
    return result;
  }

  /** Loads folder `f` for plugin `name` (null: whatever it is) unless its current files already serve or failed. */
  private async attempt(f: Folder, name: string | null, result: ScanResult, now: number): Promise<void> {
    const serving = name === null ? undefined : this.serving.get(name);
    if (serving?.dir === f.dir && serving.sig === f.sig) return;
    const tried = this.attempts.get(f.dir);
    const settled = !this.later || now - f.newest >= this.settleMs;
    if (tried?.sig === f.sig && tried.state === "refused") return;
    if (tried?.sig === f.sig && !settled) {
      this.schedule(this.settleMs - (now - f.newest));
      return;
    }
    let bundle: Bundle;
    let previous: Serving | undefined;
    try {
      bundle = await loadBundle(f.dir, this.registry.options);
      // The folder changed between reading its name and loading it: the next pass sees it whole (and resolves
      // the name it gives now).
      if (bundle.metadata.name !== name) throw new BundleError("E_BUNDLE_METADATA", f.entry, "metadata.json changed while it was read", { incomplete: true });
      const loaded = bundle;
      previous = this.serving.get(name);
      await this.exclusive(name, () => {
        // Read under the lock: the last accepted push, not one that an overtaking push just replaced. A
        // configure that rejects the config throws here, before anything is installed.
        const saved = this.opts.savedConfig?.(name);
        this.registry.install(this.registry.build(loaded, saved?.text, saved?.version ?? 0));
      });
    } catch (err) {
      // A BundleError, or what configure threw (a PluginFailure such as E_PLUGIN_BUDGET): its own code either way.
      const e = err as Error & { code?: string; incomplete?: boolean };
      // Files that changed while they were read say nothing yet: look again once they settle, without a line.
      if (this.watching && (await this.signature(f.dir, f.target))?.sig !== f.sig) {
        this.schedule();
        return;
      }
      if (e.incomplete && !settled) {
        if (tried?.sig !== f.sig) {
          this.attempts.set(f.dir, { sig: f.sig, state: "incomplete" });
          this.opts.log.info({ dir: f.dir, code: e.code, err: e.message, event: "incomplete", settleMs: this.settleMs }, "plugin bundle incomplete; waiting for it to settle");
        }
        this.schedule(this.settleMs - (now - f.newest));
        return;
      }
      this.attempts.set(f.dir, { sig: f.sig, state: "refused" });
      this.refuse(f, name ?? f.name ?? this.servedFrom(f.dir), e, result);
      return;
    }
    const plugin = bundle.metadata.name;
    this.serving.set(plugin, { dir: f.dir, sig: f.sig });
    this.attempts.delete(f.dir);
    this.refusals.delete(f.dir);
    result.loaded.push(plugin);
    const m = bundle.metadata;
    const moved = previous !== undefined && previous.dir !== f.dir ? { from: previous.dir } : {};
    const link = f.target !== null ? { target: f.target } : {};
    this.opts.log.info({ plugin, version: m.version, order: m.order, sha256: m.sha256, dir: f.dir, ...link, ...moved, event: previous ? "swapped" : "loaded" }, previous ? "plugin bundle swapped" : "plugin bundle loaded");
  }

  /** The plugin that folder `dir` serves, if any. */
  private servedFrom(dir: string): string | null {
    for (const [name, s] of this.serving) if (s.dir === dir) return name;
    return null;
  }

  /** Records and logs a refusal of folder `f`, once for the same files and reason. */
  private refuse(f: Folder, name: string | null, err: Error & { code?: string }, result: ScanResult): void {
    const e = { code: err.code ?? "E_BUNDLE", message: err.message };
    const key = `${f.sig}\u0000${e.code}\u0000${e.message}`;
    if (this.refusals.get(f.dir)?.key === key) return;
    const refusal = { dir: f.dir, name, code: e.code, message: e.message };
    this.refusals.set(f.dir, { ...refusal, key });
    result.refused.push({ dir: f.dir, code: e.code, message: e.message });
    this.opts.onRefused?.(refusal);
    const serving = name !== null ? this.serving.get(name) : undefined;
    this.opts.log.error({ dir: f.dir, code: e.code, err: e.message, event: "refused", serving: serving ? name : null, ...(serving && serving.dir !== f.dir ? { servingDir: serving.dir } : {}) }, "plugin bundle refused");
  }
}

/** The plugin name a bundle folder's metadata.json gives, when it reads that far; null otherwise. */
async function readName(dir: string, entry: string): Promise<string | null> {
  try {
    const m = (await readMetadataJson(dir, entry)).raw as { name?: unknown } | null;
    return typeof m?.name === "string" && m.name !== "" ? m.name : null;
  } catch {
    return null;
  }
}

// Watches the plugins folder. A bundle added or changed is verified, configured (persisted config, else its
// default) and swapped in; a bad one is refused with a log line and the version that was serving keeps
// serving; a removed one is unloaded. Events are debounced so that a bundle copied file by file is loaded once,
// complete; a slow poll backs up fs.watch, which can miss events on some filesystems.

import { type FSWatcher, watch } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { loadBundle } from "./bundle.js";
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
  readonly debounceMs?: number;
  readonly pollMs?: number;
  /**
   * Runs a swap or an unload of plugin `name` under that plugin's lock (ConfigPusher.exclusive), so that a
   * push cannot land between reading the saved config and installing the new bundle. Direct by default.
   */
  /** Wall clock in ms, compared with file modification times. */
  readonly now?: () => number;
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

interface Seen {
  readonly signature: string;
  /** The plugin name this folder provides while it serves; undefined when it was refused. */
  readonly name: string | undefined;
}

export class BundleWatcher {
  private seen = new Map<string, Seen>();
  /** The folders whose current files were refused, until they load or go away. */
  private readonly refusals = new Map<string, Refusal>();
  private fsWatcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private scanning: Promise<ScanResult> | undefined;
  private again = false;
  private stopped = false;
  /** Set once start() watches; only then is a folder still being written left for a later pass. */
  private watching = false;

  constructor(readonly dir: string, private readonly registry: PluginRegistry, private readonly opts: WatcherOptions) {}

  /** The bundles refused as they are now on disk, by folder name (GET /plugins, /readyz, metrics). */
  refused(): Refusal[] {
    return [...this.refusals.values()];
  }

  /** Loads what is there now, then watches. */
  async start(): Promise<ScanResult> {
    const first = await this.scan();
    this.watching = true;
    try {
      this.fsWatcher = watch(this.dir, { recursive: true }, () => this.schedule());
      this.fsWatcher.on("error", (err) => this.opts.log.warn({ err: err.message, dir: this.dir }, "plugins folder watch failed; polling only"));
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message, dir: this.dir }, "plugins folder cannot be watched; polling only");
    }
    this.poll = setInterval(() => this.schedule(), this.opts.pollMs ?? 1000);
    this.poll.unref();
    return first;
  }

  stop(): void {
    this.stopped = true;
    this.fsWatcher?.close();
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.scan(), this.debounceMs);
    this.timer.unref();
  }

  /** One pass over the folder; concurrent calls are folded into one more pass after the current one. */
  scan(): Promise<ScanResult> {
    if (this.scanning) {
      this.again = true;
      return this.scanning;
    }
    this.scanning = this.scanOnce().finally(() => {
      this.scanning = undefined;
      if (this.again) {
        this.again = false;
        void this.scan();
      }
    });
    return this.scanning;
  }

  private get debounceMs(): number {
    return this.opts.debounceMs ?? 200;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private exclusive<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return this.opts.exclusive ? this.opts.exclusive(name, fn) : Promise.resolve().then(fn);
  }

  /** The signature of a bundle folder and the newest modification time of its files. */
  private async signature(bundleDir: string): Promise<{ sig: string; newest: number } | undefined> {
    try {
      // ctime and inode too: a file rewritten in place with the same size within the mtime's granularity, or
      // renamed over, still changes the signature.
      const m = await stat(join(bundleDir, "metadata.json"));
      const parts = [`${m.size}:${m.mtimeMs}:${m.ctimeMs}:${m.ino}`];
      let newest = Math.max(m.mtimeMs, m.ctimeMs);
      for (const f of (await readdir(bundleDir)).sort()) {
        if (!f.endsWith(".wasm")) continue;
        const s = await stat(join(bundleDir, f));
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
    const log = this.opts.log;
    let entries: string[] = [];
    try {
      entries = (await readdir(this.dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (err) {
      log.error({ dir: this.dir, err: (err as Error).message }, "plugins folder cannot be read");
    }
    const present = new Set<string>();
    for (const entry of entries) {
      const bundleDir = join(this.dir, entry);
      const signed = await this.signature(bundleDir);
      if (signed === undefined) continue;
      const sig = signed.sig;
      present.add(bundleDir);
      const before = this.seen.get(bundleDir);
      if (before?.signature === sig) continue;
      // A folder still being written (a file changed within the debounce window) is looked at again once it
      // has settled, so that a bundle copied file by file is loaded once, complete.
      if (this.watching && this.now() - signed.newest < this.debounceMs) {
        this.schedule();
        continue;
      }
      try {
        const bundle = await loadBundle(bundleDir, this.registry.options);
        const name = bundle.metadata.name;
        const owner = [...this.seen.entries()].find(([d, s]) => s.name === name && d !== bundleDir);
        if (owner) throw new BundleError("E_BUNDLE_DUPLICATE", name, `already provided by ${owner[0]}`);
        await this.exclusive(name, () => {
          // Read under the lock: the last accepted push, not one that an overtaking push just replaced.
          const saved = this.opts.savedConfig?.(name);
          const plugin = this.registry.build(bundle, saved?.text, saved?.version ?? 0);
          this.registry.install(plugin);
        });
        // A folder whose plugin was renamed unloads the old name.
        if (before?.name !== undefined && before.name !== name) {
          const old = before.name;
          await this.exclusive(old, () => this.registry.remove(old));
        }
        this.seen.set(bundleDir, { signature: sig, name });
        this.refusals.delete(bundleDir);
        result.loaded.push(name);
        log.info({ plugin: name, version: bundle.metadata.version, order: bundle.metadata.order, sha256: bundle.metadata.sha256, dir: bundleDir, event: before ? "swapped" : "loaded" }, before ? "plugin bundle swapped" : "plugin bundle loaded");
      } catch (err) {
        const e = err as Error & { code?: string };
        // Files that changed while they were read (a slow copy, a file truncated then written) say nothing
        // yet: look again once they settle, without a refusal in the log.
        if (this.watching && (await this.signature(bundleDir))?.sig !== sig) {
          this.schedule();
          continue;
        }
        // Remember the signature so that the same bad files are refused once, not at every poll.
        this.seen.set(bundleDir, { signature: sig, name: before?.name });
        result.refused.push({ dir: bundleDir, code: e.code ?? "E_BUNDLE", message: e.message });
        const refusal: Refusal = { dir: bundleDir, name: await metadataName(bundleDir), code: e.code ?? "E_BUNDLE", message: e.message };
        this.refusals.set(bundleDir, refusal);
        this.opts.onRefused?.(refusal);
        log.error({ dir: bundleDir, code: e.code ?? "E_BUNDLE", err: e.message, event: "refused", serving: before?.name ?? null }, "plugin bundle refused");
      }
    }
    for (const [bundleDir, s] of [...this.seen]) {
      if (present.has(bundleDir)) continue;
      this.seen.delete(bundleDir);
      this.refusals.delete(bundleDir);
      const name = s.name;
      if (name !== undefined && (await this.exclusive(name, () => this.registry.remove(name)))) {
        result.removed.push(name);
        log.info({ plugin: name, dir: bundleDir, event: "unloaded" }, "plugin bundle removed");
      }
    }
    return result;
  }
}

/** The name a bundle's metadata.json gives, when it parses that far; null otherwise. */
async function metadataName(bundleDir: string): Promise<string | null> {
  try {
    const m = JSON.parse(await readFile(join(bundleDir, "metadata.json"), "utf8")) as { name?: unknown };
    return typeof m.name === "string" && m.name !== "" ? m.name : null;
  } catch {
    return null;
  }
}

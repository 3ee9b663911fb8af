// Watches the plugins folder. A bundle added or changed is verified, configured (persisted config, else its
// default) and swapped in; a bad one is refused with a log line and the version that was serving keeps
// serving; a removed one is unloaded. Events are debounced so that a bundle copied file by file is loaded once,
// complete; a slow poll backs up fs.watch, which can miss events on some filesystems.

import { type FSWatcher, watch } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { loadBundle } from "./bundle.js";
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
  private fsWatcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private scanning: Promise<ScanResult> | undefined;
  private again = false;

  constructor(readonly dir: string, private readonly registry: PluginRegistry, private readonly opts: WatcherOptions) {}

  /** Loads what is there now, then watches. */
  async start(): Promise<ScanResult> {
    const first = await this.scan();
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
    this.fsWatcher?.close();
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.scan(), this.opts.debounceMs ?? 200);
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

  private async signature(bundleDir: string): Promise<string | undefined> {
    try {
      const m = await stat(join(bundleDir, "metadata.json"));
      const parts = [`${m.size}:${m.mtimeMs}`];
      for (const f of await readdir(bundleDir)) {
        if (!f.endsWith(".wasm")) continue;
        const s = await stat(join(bundleDir, f));
        parts.push(`${f}:${s.size}:${s.mtimeMs}`);
      }
      return parts.join("|");
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
      const sig = await this.signature(bundleDir);
      if (sig === undefined) continue;
      present.add(bundleDir);
      const before = this.seen.get(bundleDir);
      if (before?.signature === sig) continue;
      try {
        const bundle = await loadBundle(bundleDir, this.registry.options);
        const name = bundle.metadata.name;
        const owner = [...this.seen.entries()].find(([d, s]) => s.name === name && d !== bundleDir);
        if (owner) throw Object.assign(new Error(`bundle ${name}: already provided by ${owner[0]}`), { code: "E_BUNDLE_DUPLICATE" });
        const saved = this.opts.savedConfig?.(name);
        const plugin = this.registry.build(bundle, saved?.text, saved?.version ?? 0);
        // A folder whose plugin was renamed unloads the old name.
        if (before?.name !== undefined && before.name !== name) this.registry.remove(before.name);
        this.registry.install(plugin);
        this.seen.set(bundleDir, { signature: sig, name });
        result.loaded.push(name);
        log.info({ plugin: name, version: bundle.metadata.version, order: bundle.metadata.order, sha256: bundle.metadata.sha256, dir: bundleDir, event: before ? "swapped" : "loaded" }, before ? "plugin bundle swapped" : "plugin bundle loaded");
      } catch (err) {
        const e = err as Error & { code?: string };
        // Remember the signature so that the same bad files are refused once, not at every poll.
        this.seen.set(bundleDir, { signature: sig, name: before?.name });
        result.refused.push({ dir: bundleDir, code: e.code ?? "E_BUNDLE", message: e.message });
        log.error({ dir: bundleDir, code: e.code ?? "E_BUNDLE", err: e.message, event: "refused", serving: before?.name ?? null }, "plugin bundle refused");
      }
    }
    for (const [bundleDir, s] of [...this.seen]) {
      if (present.has(bundleDir)) continue;
      this.seen.delete(bundleDir);
      if (s.name !== undefined && this.registry.remove(s.name)) {
        result.removed.push(s.name);
        log.info({ plugin: s.name, dir: bundleDir, event: "unloaded" }, "plugin bundle removed");
      }
    }
    return result;
  }
}

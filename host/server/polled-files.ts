// Files whose change is acted on after a debounce (TLS certificates, keys and CAs: host/server/tls-credentials.ts,
// host/server/upstream-tls-reloader.ts). fs.watchFile polls the stat, which follows a file replaced by rename; a
// change waits `debounceMs` for the other files of a set written one after the other, and the actions run one
// at a time, in order.

import { unwatchFile, watchFile, type Stats } from "node:fs";

export interface ReloadTiming {
  /** How often the files' stat is polled (fs.watchFile, which follows a file replaced by rename). Default 1 s. */
  readonly pollMs?: number;
  /** A change waits this long for the other files of the set to change too. Default 200 ms. */
  readonly debounceMs?: number;
}

export class PolledFiles {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private readonly files: ReadonlySet<string>;

  constructor(files: readonly string[], private readonly timing: ReloadTiming, private readonly onChange: () => Promise<unknown>) {
    this.files = new Set(files);
  }

  start(): void {
    const interval = this.timing.pollMs ?? 1_000;
    for (const f of this.files) watchFile(f, { interval, persistent: false }, this.changed);
  }

  stop(): void {
    for (const f of this.files) unwatchFile(f, this.changed);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly changed = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.running.then(async () => {
        await this.onChange();
      });
    }, this.timing.debounceMs ?? 200);
  };
}

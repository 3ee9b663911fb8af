// `switchyard run --watch-config`: the main config file is read every `pollMs` and, when its bytes changed,
// reloaded (SwitchyardHost.reloadFromFile). Polling the bytes, not fs.watch, because an editor or a config
// manager replaces the file by rename (a new inode fs.watch does not follow) and a mount may not notify at all.
// A half-written file is refused like any bad file, and the next poll that sees it complete applies it.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { systemClock, type Clock, type TimerHandle } from "../cluster/clock.js";

export interface ConfigWatcherOptions {
  readonly file: string;
  /** Called when the bytes differ from the last seen; the next poll waits for it to finish. */
  readonly changed: () => Promise<unknown>;
  readonly pollMs?: number;
  readonly clock?: Clock;
}

const DEFAULT_CONFIG_POLL_MS = 1_000;

export class ConfigFileWatcher {
  private last: string | null = null;
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(private readonly opts: ConfigWatcherOptions) {}

  /** Remembers the file as it is now (what the host started with), then polls. */
  async start(): Promise<void> {
    this.last = await this.digest();
    this.schedule();
  }

  /** One poll: reloads when the bytes changed. Resolves when that reload is done (tests call it directly). */
  async poll(): Promise<boolean> {
    const now = await this.digest();
    if (now === null || now === this.last) return false;
    this.last = now;
    await this.opts.changed();
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.opts.clock ?? systemClock).clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = (this.opts.clock ?? systemClock).setTimeout(() => {
      this.timer = null;
      void this.poll().catch(() => undefined).finally(() => this.schedule());
    }, this.opts.pollMs ?? DEFAULT_CONFIG_POLL_MS);
  }

  /** The file's digest, or null while it cannot be read (being replaced; the reload would say why). */
  private async digest(): Promise<string | null> {
    try {
      return createHash("sha256").update(await readFile(this.opts.file)).digest("hex");
    } catch {
      return null;
    }
  }
}

// Plugin log lines (sdk/ABI.md §6 sy_log) into pino: one child logger per plugin, the level checked before a
// byte is decoded, and a token bucket per plugin so that a chatty plugin cannot flood the log. Lines over the
// limit are counted (per plugin, for metrics) and reported by one warning when lines flow again.
//
// A sink belongs to a plugin name, not to one instance: a bundle swap or a config push builds new instances
// of the same plugin, and they share its bucket and its dropped count.

import type { Logger } from "pino";
import type { GuestLogSink } from "../abi/guest.js";
import { TokenBucket } from "./token-bucket.js";
import type { ReadClock } from "../cluster/clock.js";

export interface PluginLogOptions {
  /** Sustained lines per second per plugin (default 20). */
  readonly ratePerSec?: number;
  /** Lines a plugin may log at once before the rate applies (default 50). */
  readonly burst?: number;
  /** Milliseconds, monotonic; performance.now by default. */
  readonly clock?: ReadClock;
}

/** ABI levels 0..4 as pino level names. */
const LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
type LevelName = (typeof LEVELS)[number];

function levelName(level: number): LevelName {
  return LEVELS[level <= 0 ? 0 : level >= 4 ? 4 : level | 0]!;
}

/** The sink of one plugin. */
class PluginLogSink implements GuestLogSink {
  /** Lines dropped by the rate limit since the host started. */
  dropped = 0;
  private unreported = 0;

  constructor(
    readonly plugin: string,
    private readonly logger: Logger,
    private readonly bucket: TokenBucket,
  ) {}

  /** Called by the guest before decoding: below the logger's level or over the rate → false, nothing decoded. */
  enabled(level: number): boolean {
    if (!this.logger.isLevelEnabled(levelName(level))) return false;
    if (this.bucket.take()) return true;
    this.dropped++;
    this.unreported++;
    return false;
  }

  log(level: number, message: string): void {
    if (this.unreported > 0) {
      this.logger.warn({ event: "log-dropped", dropped: this.unreported }, "plugin log lines dropped by the rate limit");
      this.unreported = 0;
    }
    this.logger[levelName(level)]({ event: "plugin-log" }, message);
  }
}

/**
 * The plugin log sinks of one host.
 *
 * @example
 * const logs = new PluginLogs(host.log, { ratePerSec: 20, burst: 50 });
 * const registry = new PluginRegistry({ sinkFor: (m) => logs.sinkFor(m.name) });
 */
export class PluginLogs {
  private readonly sinks = new Map<string, PluginLogSink>();
  private readonly clock: ReadClock;

  constructor(
    private readonly logger: Logger,
    private readonly opts: PluginLogOptions = {},
  ) {
    this.clock = opts.clock ?? (() => performance.now());
  }

  /** The sink of plugin `name`, made on first use: a child logger { component: "plugin", plugin: name }. */
  sinkFor(name: string): PluginLogSink {
    let s = this.sinks.get(name);
    if (s === undefined) {
      s = new PluginLogSink(name, this.logger.child({ component: "plugin", plugin: name }), new TokenBucket(this.opts.ratePerSec ?? 20, this.opts.burst ?? 50, this.clock));
      this.sinks.set(name, s);
    }
    return s;
  }

  /** Dropped lines by plugin, for the metrics (plugin_log_lines_dropped_total). */
  droppedByPlugin(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, s] of this.sinks) if (s.dropped > 0) out.set(name, s.dropped);
    return out;
  }
}

// Plugin log lines (sdk/ABI.md §6 sy_log) into pino: one child logger per plugin, the level checked before a
// byte is decoded, and a token bucket per plugin so that a chatty plugin cannot flood the log. Lines over the
// limit are counted (per plugin, for metrics) and reported by one warning when lines flow again.
//
// A sink belongs to a plugin name, not to one instance: a bundle swap or a config push builds new instances
// of the same plugin, and they share its bucket and its dropped count.

import type { Logger } from "pino";
import type { GuestLogSink } from "../abi/guest.js";
import type { BundleMetadata, LoadOptions } from "../plugin/bundle.js";
import { defaultClassifier, noMeter } from "../plugin/instance.js";
import type { PluginOptions } from "../plugin/plugin.js";
import { TokenBucket, type MonotonicClock } from "./token-bucket.js";

export interface PluginLogOptions {
  /** Sustained lines per second per plugin (default 20). */
  readonly ratePerSec?: number;
  /** Lines a plugin may log at once before the rate applies (default 50). */
  readonly burst?: number;
  /** Milliseconds, monotonic; performance.now by default. */
  readonly clock?: MonotonicClock;
}

/** ABI levels 0..4 as pino level names. */
const LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
type LevelName = (typeof LEVELS)[number];

function levelName(level: number): LevelName {
  return LEVELS[level <= 0 ? 0 : level >= 4 ? 4 : level | 0]!;
}

/** The sink of one plugin. */
export class PluginLogSink implements GuestLogSink {
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
 * const registry = new PluginRegistry(logs.pluginOptions({ ...sandboxOptions() }));
 * // or, once PluginOptions has a per-bundle sink: sinkFor: (m) => logs.sinkFor(m.name)
 */
export class PluginLogs {
  private readonly sinks = new Map<string, PluginLogSink>();
  private readonly clock: MonotonicClock;
  // The plugin whose call is running: set by the meter that every call into a guest arms first.
  private current: PluginLogSink | null = null;

  /** One sink for every instance: it forwards to the sink of the plugin whose call is running. */
  readonly sink: GuestLogSink = {
    enabled: (level) => this.current?.enabled(level) ?? false,
    log: (level, message) => this.current?.log(level, message),
  };

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

  /**
   * Plugin options whose instances log through these sinks, with what PluginOptions offers today (one sink
   * for all instances): `base.guard` (the sandbox's meter and classifier) is wrapped so that arming a call
   * also names the plugin whose lines follow. Every call into a guest is armed first (PluginInstance), so a
   * line is always attributed to the plugin that runs; a module's start function runs before any arming and
   * its lines go to the plugin that ran last — the SDK never logs there.
   */
  pluginOptions<T extends PluginOptions & LoadOptions>(base: T): T {
    const guard = (metadata: BundleMetadata) => {
      const g = base.guard?.(metadata);
      const meter = g?.meter ?? base.meter ?? noMeter;
      const sink = this.sinkFor(metadata.name);
      return {
        meter: {
          arm: (guest: Parameters<typeof meter.arm>[0]) => {
            this.current = sink;
            meter.arm(guest);
          },
        },
        classifier: g?.classifier ?? base.classifier ?? defaultClassifier,
      };
    };
    return { ...base, sink: this.sink, guard };
  }
}

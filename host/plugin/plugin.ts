// A router plugin as the host's business code sees it: a name, an order, a config with a version, a failure
// policy, and a live instance that is replaced — never repaired — after a failure. Quarantine follows the
// proxy-wasm spec and Envoy's FAIL_RELOAD with backoff: after `threshold` consecutive failures the plugin is not
// called; after a growing delay a fresh instance is tried again.

import type { ReadClock } from "../cluster/clock.js";
import { type GuestLogSink, linearMemoriesOf } from "../abi/guest.js";
import type { Bundle, BundleMetadata } from "./bundle.js";
import type { FailurePolicy } from "./bundle-fields.js";
import { BundleError, ConfigRejected, type FailureKind, PluginFailure } from "./errors.js";
import { type CallMeter, type FailureClassifier, InstanceFailure, PluginInstance, defaultClassifier, failureOf, noMeter } from "./instance.js";
import { PluginCounters, type PluginCounterSet } from "./counters.js";
import { sameHeaders } from "../abi/header-list.js";


export interface QuarantinePolicy {
  /** Consecutive failures that quarantine the plugin. */
  readonly threshold: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

const DEFAULT_QUARANTINE: QuarantinePolicy = Object.freeze({ threshold: 5, baseDelayMs: 1000, maxDelayMs: 60_000 });

export interface PluginOptions {
  readonly clock?: ReadClock;
  readonly sink?: GuestLogSink;
  /** A log sink per bundle (each plugin logs under its own name, rate-limited on its own); wins over `sink`. */
  readonly sinkFor?: (metadata: BundleMetadata) => GuestLogSink;
  readonly meter?: CallMeter;
  readonly classifier?: FailureClassifier;
  /** A meter and classifier per bundle (each bundle has its own CPU budget): the sandbox's hooks. */
  readonly guard?: (metadata: BundleMetadata) => { meter: CallMeter; classifier: FailureClassifier };
  readonly quarantine?: QuarantinePolicy;
  /** Called on every failure and state change, for logs and metrics. */
  readonly events?: PluginEvents;
  /** Where each plugin's call counters live across its versions (one set per host); its own otherwise. */
  readonly counters?: PluginCounterSet;
  /** One chain run in `timingEvery` times its plugin calls (counters.ts TIMING_EVERY by default). */
  readonly timingEvery?: number;
}

export interface PluginEvents {
  failed?(plugin: RouterPlugin, failure: PluginFailure): void;
  quarantined?(plugin: RouterPlugin, untilMs: number, failures: number): void;
  recovered?(plugin: RouterPlugin): void;
}

const silentSink: GuestLogSink = { enabled: () => false, log: () => undefined };

export interface PluginStats {
  calls: number;
  failures: number;
  failuresByKind: Partial<Record<FailureKind, number>>;
  quarantines: number;
}

export class RouterPlugin {
  readonly name: string;
  readonly order: number;
  readonly version: string;
  readonly policy: FailurePolicy;
  /** The headers the host writes per request (null: all), as this config's configure declared them (§4.4). */
  readonly headers: readonly string[] | null;
  /**
   * What GET /plugins shows of this plugin: its name's counters (counters.ts), across versions and pushes, as
   * switchyard_plugin_calls_total and the failure metrics count them. One count per concept: a push does not
   * start them again.
   */
  get stats(): PluginStats {
    const c = this.counters;
    return { calls: c.calls, failures: c.failures, failuresByKind: c.failuresByKind, quarantines: c.quarantines };
  }
  /** Calls, verdicts and call times by plugin name, kept across versions (what the metrics show). */
  readonly counters: PluginCounters;
  private current: PluginInstance | null;
  private consecutive = 0;
  private quarantineLevel = 0;
  private quarantinedUntil = 0;
  private readonly clock: ReadClock;
  private readonly opts: PluginOptions;

  private constructor(
    readonly bundle: Bundle,
    readonly config: string,
    readonly configVersion: number,
    instance: PluginInstance,
    opts: PluginOptions,
  ) {
    const m = bundle.metadata;
    this.name = m.name;
    this.order = m.order;
    this.version = m.version;
    this.policy = m.failurePolicy;
    this.headers = instance.headers;
    this.current = instance;
    this.opts = opts;
    this.counters = opts.counters?.of(m.name) ?? new PluginCounters();
    this.clock = opts.clock ?? (() => performance.now());
  }

  /**
   * Builds a configured plugin aside: a fresh instance configured with `config` (the bundle's default when
   * undefined). Throws BundleError E_BUNDLE_CONFIG_REJECTED / ConfigRejected, or PluginFailure.
   */
  static create(bundle: Bundle, config: string | undefined, configVersion: number, opts: PluginOptions = {}): RouterPlugin {
    const m = bundle.metadata;
    const text = config ?? m.defaultConfig;
    const instance = RouterPlugin.freshInstance(bundle, opts);
    let message: string | null;
    try {
      message = instance.configure(text);
    } catch (err) {
      const f = err as InstanceFailure;
      throw new PluginFailure(f.kind, m.name, m.version, `configure: ${f.detail}`, { cause: err });
    }
    if (message !== null) {
      if (config === undefined) throw new BundleError("E_BUNDLE_CONFIG_REJECTED", m.name, `its configure rejected the default config: ${message}`);
      throw new ConfigRejected(m.name, message);
    }
    return new RouterPlugin(bundle, text, configVersion, instance, opts);
  }

  private static freshInstance(bundle: Bundle, opts: PluginOptions): PluginInstance {
    const m = bundle.metadata;
    const guard = opts.guard?.(m);
    try {
      return new PluginInstance(bundle.module, m.headers, opts.sinkFor?.(m) ?? opts.sink ?? silentSink, guard?.meter ?? opts.meter ?? noMeter, guard?.classifier ?? opts.classifier ?? defaultClassifier);
    } catch (err) {
      const f = failureOf(err);
      throw new PluginFailure(f.kind, m.name, m.version, `instantiation failed: ${f.detail}`, { cause: err });
    }
  }

  /** A new plugin object for a pushed config, built aside; this one keeps serving until the caller swaps. */
  reconfigure(config: string, configVersion: number): RouterPlugin {
    return RouterPlugin.create(this.bundle, config, configVersion, this.opts);
  }

  /**
   * Bytes of linear memory of the live instance (0 when there is none), a component's core memories summed
   * (not the host's scratch area): wasm memory never shrinks.
   */
  get memoryBytes(): number {
    return this.current === null ? 0 : linearMemoriesOf(this.current.guest.exports).reduce((sum, m) => sum + m.buffer.byteLength, 0);
  }

  get quarantined(): boolean {
    return this.quarantinedUntil > 0 && this.clock() < this.quarantinedUntil;
  }

  get state(): "ready" | "quarantined" | "retrying" {
    if (this.quarantinedUntil === 0) return "ready";
    return this.clock() < this.quarantinedUntil ? "quarantined" : "retrying";
  }

  /**
   * The instance to call for this request, or null while quarantined. After a failure the next call gets a
   * fresh instance configured with the current config; if that fails too, it counts as another failure.
   */
  instance(): PluginInstance | null {
    if (this.quarantinedUntil > 0 && this.clock() < this.quarantinedUntil) return null;
    if (this.current !== null) return this.current;
    try {
      this.current = this.configuredInstance();
      return this.current;
    } catch (err) {
      const f = failureOf(err);
      this.failed(f.kind, `re-instantiation: ${f.detail}`);
      return null;
    }
  }

  /**
   * For a dry run (explain): null while quarantined (the request path skips the plugin then), else an
   * instance of its own, configured with the current config, that no request ever uses. Whatever the dry
   * run does to its memory, or a failure in it, stays there: the live instance, its health and its counters
   * are never touched. Throws InstanceFailure when the instance cannot be made; nothing is counted.
   */
  dryRunInstance(): PluginInstance | null {
    if (this.quarantinedUntil > 0 && this.clock() < this.quarantinedUntil) return null;
    try {
      return this.configuredInstance();
    } catch (err) {
      throw failureOf(err);
    }
  }

  /** A fresh instance configured with the current config, checked to declare the headers this plugin was built with. */
  private configuredInstance(): PluginInstance {
    const inst = RouterPlugin.freshInstance(this.bundle, this.opts);
    const message = inst.configure(this.config);
    if (message !== null) throw new InstanceFailure("status", `a fresh instance rejected the current config: ${message}`);
    // The chain encodes requests for the headers this plugin declared when it was built: a fresh instance
    // that reads others would silently miss them.
    if (!sameHeaders(inst.headers, this.headers)) {
      throw new InstanceFailure("status", `a fresh instance declared other headers for the current config (${JSON.stringify(inst.headers)}, not ${JSON.stringify(this.headers)})`);
    }
    return inst;
  }

  /** Records a successful call: ends a quarantine probe and resets the consecutive count. */
  succeeded(): void {
    if (this.consecutive !== 0 || this.quarantinedUntil !== 0) {
      const wasQuarantined = this.quarantinedUntil !== 0;
      this.consecutive = 0;
      this.quarantineLevel = 0;
      this.quarantinedUntil = 0;
      if (wasQuarantined) this.opts.events?.recovered?.(this);
    }
  }

  /** Records a failed call; drops the instance (never reused after a failure) and may quarantine. */
  failed(kind: FailureKind, detail: string): PluginFailure {
    // The call itself was counted by the chain (counters.calls); a failed re-instantiation is no call.
    const c = this.counters;
    c.failures++;
    c.failuresByKind[kind] = (c.failuresByKind[kind] ?? 0) + 1;
    this.current = null;
    this.consecutive++;
    const failure = new PluginFailure(kind, this.name, this.version, detail);
    this.opts.events?.failed?.(this, failure);
    const q = this.opts.quarantine ?? DEFAULT_QUARANTINE;
    // A failing probe after a quarantine goes straight back in, with a longer delay.
    if (this.consecutive >= q.threshold || this.quarantinedUntil !== 0) {
      const delay = Math.min(q.maxDelayMs, q.baseDelayMs * 2 ** this.quarantineLevel);
      this.quarantineLevel++;
      this.quarantinedUntil = this.clock() + delay;
      c.quarantines++;
      this.opts.events?.quarantined?.(this, this.quarantinedUntil, this.consecutive);
    }
    return failure;
  }
}

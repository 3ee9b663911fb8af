// Consecutive-failure outlier detection (Envoy's consecutive_5xx, reduced): after N failures in a row a
// host is ejected (marked unhealthy, so the next snapshot shows it) for base × ejections, capped, then
// brought back. A host that stays in for a full max ejection time starts counting ejections afresh.

import type { Clock, TimerHandle } from "./clock.js";
import type { Cluster } from "./cluster.js";
import { OutlierConfigError } from "./errors.js";
import type { MutableHost } from "./host.js";
import type { Host } from "./types.js";

export interface OutlierSettings {
  /** Failures in a row (5xx or connect failure) that eject a host. */
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
}

const DEFAULT_OUTLIER: OutlierSettings = Object.freeze({ consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000 });

/** Told of each ejection and return (the host logs them: an operator wants to know why a host left). */
export interface OutlierEvents {
  ejected?(host: Host, forMs: number, ejections: number): void;
  returned?(host: Host): void;
}

interface HostState {
  failures: number;
  ejections: number;
  returnedAt: number | undefined;
  timer: TimerHandle | undefined;
}

function validateOutlierSettings(raw: Partial<OutlierSettings>): OutlierSettings {
  const s = { ...DEFAULT_OUTLIER, ...raw };
  const int = (field: keyof OutlierSettings, min: number, max: number) => {
    const v = s[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new OutlierConfigError(field, `${JSON.stringify(v)} is not an integer in ${min}..${max}`);
    }
  };
  int("consecutiveFailures", 1, 1000);
  int("baseEjectionMs", 1, 86_400_000);
  int("maxEjectionMs", 1, 86_400_000);
  if (s.maxEjectionMs < s.baseEjectionMs) throw new OutlierConfigError("maxEjectionMs", `${s.maxEjectionMs} is below baseEjectionMs ${s.baseEjectionMs}`);
  return Object.freeze(s);
}

/**
 * @example
 * const outliers = new OutlierDetector(cluster, { consecutiveFailures: 3 }, systemClock);
 * outliers.reportFailure(host); // on a 5xx or a connect error
 * outliers.reportSuccess(host); // on anything else
 */
export class OutlierDetector {
  readonly settings: OutlierSettings;
  private readonly states = new Map<MutableHost, HostState>();
  private readonly offRemoved: () => void;

  constructor(
    private readonly cluster: Cluster,
    settings: Partial<OutlierSettings>,
    private readonly clock: Clock,
    private readonly events: OutlierEvents = {},
  ) {
    this.settings = validateOutlierSettings(settings);
    // A removed host's state and timer go with it; its object is not reused if it comes back.
    this.offRemoved = cluster.onRemoved((hosts) => {
      for (const h of hosts) this.forget(h as MutableHost);
    });
  }

  reportSuccess(host: Host): void {
    const state = this.stateOf(host);
    if (state !== undefined) state.failures = 0;
  }

  reportFailure(host: Host): void {
    const state = this.stateOf(host);
    // Requests that were in flight when the host was ejected do not extend the ejection.
    if (state === undefined || state.timer !== undefined) return;
    if (++state.failures >= this.settings.consecutiveFailures) this.eject(host as MutableHost, state);
  }

  isEjected(host: Host): boolean {
    return this.states.get(host as MutableHost)?.timer !== undefined;
  }

  /** How many times the host was ejected since its count last started afresh. */
  ejections(host: Host): number {
    return this.states.get(host as MutableHost)?.ejections ?? 0;
  }

  /** Stops detection: ejected hosts come back now, timers are cleared. */
  close(): void {
    this.offRemoved();
    for (const host of [...this.states.keys()]) {
      const ejected = this.isEjected(host);
      this.forget(host);
      if (ejected) host.setHealthy(true, "outlier");
    }
  }

  private stateOf(host: Host): HostState | undefined {
    const h = host as MutableHost;
    if (this.cluster.isClosed || this.cluster.host(h.address) !== h) return undefined;
    let state = this.states.get(h);
    if (state === undefined) {
      state = { failures: 0, ejections: 0, returnedAt: undefined, timer: undefined };
      this.states.set(h, state);
    }
    return state;
  }

  private eject(host: MutableHost, state: HostState): void {
    const now = this.clock.now();
    const { baseEjectionMs, maxEjectionMs } = this.settings;
    if (state.returnedAt !== undefined && now - state.returnedAt >= maxEjectionMs) state.ejections = 0;
    state.ejections++;
    const duration = Math.min(baseEjectionMs * state.ejections, maxEjectionMs);
    state.timer = this.clock.setTimeout(() => {
      state.timer = undefined;
      state.failures = 0;
      state.returnedAt = this.clock.now();
      host.setHealthy(true, "outlier");
      this.events.returned?.(host);
    }, duration);
    host.setHealthy(false, "outlier");
    this.events.ejected?.(host, duration, state.ejections);
  }

  private forget(host: MutableHost): void {
    const state = this.states.get(host);
    if (state?.timer !== undefined) this.clock.clearTimeout(state.timer);
    this.states.delete(host);
  }
}

// Active health checks (MOSN's health_check, Envoy's health_checks): every host of a cluster is probed on
// its own timer, every interval plus a random part of interval_jitter, so that the hosts of a cluster (and
// the processes of a fleet) do not probe in step. unhealthy_threshold failed checks in a row mark a host
// unhealthy for the "active" source, healthy_threshold passed checks in a row clear the mark. The mark is
// one bit of MutableHost's health (host/cluster/host.ts): the cluster builds a new snapshot on each flip,
// as for outlier detection, so plugins see Host.healthy in their next host table and balancers skip the host.
//
// The probe itself (a TCP connect, an HTTP GET) is given: host/proxy/health-probe.ts has the real ones.
// Clock and randomness are injected; the timeout is a timer of the clock that aborts the probe.

import type { Clock, TimerHandle } from "./clock.js";
import type { Cluster } from "./cluster.js";
import { HealthCheckConfigError } from "./errors.js";
import type { MutableHost } from "./host.js";
import { HostStatus, type ClusterSnapshot, type Host, type RandomSource } from "./types.js";

export interface HttpCheckSettings {
  /** Path of the GET, starting with "/". */
  readonly path: string;
  /** Port to check instead of the host's own (MOSN's http_check_config.port); null: the host's port. */
  readonly port: number | null;
  /** Statuses that pass; any other status, or no answer, fails. */
  readonly expectedStatuses: readonly number[];
}

export interface HealthCheckSettings {
  /** "http": a GET of http.path must answer an expected status; "tcp": a TCP connect must succeed. */
  readonly kind: "http" | "tcp";
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** Each wait is intervalMs + random() × intervalJitterMs. */
  readonly intervalJitterMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** MOSN's service_name: a label for logs; null when not given. */
  readonly serviceName: string | null;
  /** Set when kind is "http". */
  readonly http: HttpCheckSettings | null;
}

/** What one check found: passed or not, and a short reason ("status 200", "ECONNREFUSED", "timeout after 1000 ms"). */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

/** Probes one host; must settle (or honour `signal`, which the checker aborts at the timeout). */
export type Probe = (host: Host, signal: AbortSignal) => Promise<ProbeResult>;

/** Told of every check and every change of a host's active-check health (logs and metrics). */
export interface HealthCheckEvents {
  checked?(host: Host, result: ProbeResult): void;
  changed?(host: Host, healthy: boolean, result: ProbeResult): void;
}

const MAX_MS = 86_400_000;

/** Checks settings built in code (the config reader checks a file's, naming its JSON paths). */
function validateHealthCheckSettings(s: HealthCheckSettings): HealthCheckSettings {
  const int = (field: keyof HealthCheckSettings, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new HealthCheckConfigError(field, `${JSON.stringify(v)} is not an integer in ${min}..${max}`);
  };
  if (s.kind !== "http" && s.kind !== "tcp") throw new HealthCheckConfigError("kind", `${JSON.stringify(s.kind)} is not "http" or "tcp"`);
  int("timeoutMs", s.timeoutMs, 1, MAX_MS);
  int("intervalMs", s.intervalMs, 1, MAX_MS);
  int("intervalJitterMs", s.intervalJitterMs, 0, MAX_MS);
  int("healthyThreshold", s.healthyThreshold, 1, 1000);
  int("unhealthyThreshold", s.unhealthyThreshold, 1, 1000);
  if (s.kind === "http" && (s.http === null || !s.http.path.startsWith("/") || s.http.expectedStatuses.length === 0)) {
    throw new HealthCheckConfigError("http", "an HTTP check needs a path starting with \"/\" and at least one expected status");
  }
  return s;
}

interface Session {
  readonly host: MutableHost;
  successes: number;
  failures: number;
  timer: TimerHandle | undefined;
  /** The probe in flight, aborted when the session ends or the timeout passes. */
  abort: AbortController | undefined;
  closed: boolean;
}

/**
 * @example
 * const checker = new ActiveHealthChecker(cluster, settings, probeFor(settings, null), systemClock, Math.random, {
 *   changed: (host, healthy) => log.warn({ host: host.address, healthy }, "health changed"),
 * });
 * checker.close(); // timers cleared, probes aborted, every mark it set cleared
 */
export class ActiveHealthChecker {
  private readonly sessions = new Map<MutableHost, Session>();
  private hosts: readonly Host[] = [];
  private readonly offSnapshot: () => void;
  private closed = false;

  constructor(
    cluster: Cluster,
    readonly settings: HealthCheckSettings,
    private readonly probe: Probe,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly events: HealthCheckEvents = {},
  ) {
    validateHealthCheckSettings(settings);
    // A new host list (not a health flip, which keeps the hosts array) starts and stops sessions.
    this.offSnapshot = cluster.onSnapshot((s) => this.follow(s));
    this.follow(cluster.snapshot());
  }

  /** Whether the last checks of `host` marked it unhealthy. */
  isFailing(host: Host): boolean {
    return (host as MutableHost).isMarkedUnhealthy("active");
  }

  /** Checks in flight or waiting, one per host of the current list. */
  get size(): number {
    return this.sessions.size;
  }

  /** Stops checking: timers cleared, probes aborted, and the hosts it marked unhealthy are unmarked. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.offSnapshot();
    for (const s of [...this.sessions.values()]) this.end(s, true);
  }

  private follow(snapshot: ClusterSnapshot): void {
    if (this.closed || snapshot.hosts === this.hosts) return;
    this.hosts = snapshot.hosts;
    const now = new Set(snapshot.hosts as readonly MutableHost[]);
    for (const s of [...this.sessions.values()]) if (!now.has(s.host)) this.end(s, false);
    for (const h of now) {
      if (this.sessions.has(h)) continue;
      const s: Session = { host: h, successes: 0, failures: 0, timer: undefined, abort: undefined, closed: false };
      this.sessions.set(h, s);
      this.schedule(s);
    }
  }

  private schedule(s: Session): void {
    const { intervalMs, intervalJitterMs } = this.settings;
    const delay = intervalMs + Math.floor(this.random() * intervalJitterMs);
    s.timer = this.clock.setTimeout(() => this.run(s), delay);
  }

  private run(s: Session): void {
    s.timer = undefined;
    if (s.closed) return;
    const abort = new AbortController();
    s.abort = abort;
    let settled = false;
    const { timeoutMs } = this.settings;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      this.clock.clearTimeout(timeout);
      if (s.abort === abort) s.abort = undefined;
      if (!s.closed) this.record(s, result);
    };
    const timeout = this.clock.setTimeout(() => {
      finish({ ok: false, detail: `timeout after ${timeoutMs} ms` });
      abort.abort();
    }, timeoutMs);
    let pending: Promise<ProbeResult>;
    try {
      pending = this.probe(s.host, abort.signal);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(finish, (err: unknown) => finish({ ok: false, detail: err instanceof Error ? err.message : String(err) }));
  }

  private record(s: Session, result: ProbeResult): void {
    const host = s.host;
    const wasFailing = host.isMarkedUnhealthy("active");
    if (result.ok) {
      s.failures = 0;
      s.successes++;
    } else {
      s.successes = 0;
      s.failures++;
    }
    // A passed check reached the host: one that the forwarder last found Unavailable is worth routing to
    // again (balancers skip Unavailable hosts, so no request of its own would bring it back).
    if (result.ok && host.status === HostStatus.Unavailable) host.setStatus(HostStatus.Available);
    this.events.checked?.(host, result);
    if (wasFailing && result.ok && s.successes >= this.settings.healthyThreshold) {
      host.setHealthy(true, "active");
      this.events.changed?.(host, true, result);
    } else if (!wasFailing && !result.ok && s.failures >= this.settings.unhealthyThreshold) {
      host.setHealthy(false, "active");
      this.events.changed?.(host, false, result);
    }
    this.schedule(s);
  }

  /** Ends a host's checks; `unmark` clears its active mark (close), a removed host keeps its object's state. */
  private end(s: Session, unmark: boolean): void {
    s.closed = true;
    if (s.timer !== undefined) this.clock.clearTimeout(s.timer);
    s.abort?.abort();
    this.sessions.delete(s.host);
    if (unmark && s.host.isMarkedUnhealthy("active")) s.host.setHealthy(true, "active");
  }
}

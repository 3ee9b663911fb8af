// A cluster's circuit breaker (Envoy's and MOSN's circuit_breakers thresholds): bounds on what one cluster
// may have in flight, so that a slow or failing cluster sheds load at once instead of piling it up.
//
//   max_requests          requests forwarded to the cluster and not finished; one more is refused (503)
//   max_connections       connections those requests hold: over HTTP/1.1 (one request per pooled connection,
//                         host/proxy/pools.ts) the requests in flight; a request over it waits as pending.
//                         Over HTTP/2, where requests share connections, it does not apply
//   max_pending_requests  requests waiting for a connection; one more is refused (503)
//   max_retries           retries in flight at once; a retry over it is not made, the request ends with the
//                         failure it had. retry_budget replaces it with a share of the requests in flight
//                         (budget_percent, at least min_retry_concurrency), Envoy's retry budget
//
// One breaker per cluster per process. Counted by the caller (host/server/pipeline.ts) through `events`.

export interface RetryBudget {
  /** Retries in flight allowed, as a percentage of the requests in flight and pending. */
  readonly budgetPercent: number;
  /** Retries in flight always allowed, whatever the percentage gives. */
  readonly minRetryConcurrency: number;
}

export interface CircuitBreakerSettings {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** When set, replaces maxRetries. */
  readonly retryBudget: RetryBudget | null;
}

/** The limit a request or a retry was refused by, as the config names it. */
export type BreakerLimit = "max_requests" | "max_pending_requests" | "max_retries" | "retry_budget";

export interface BreakerEvents {
  overflow?(limit: BreakerLimit): void;
}

/** What admit() decided: forward now, wait (`cancel` drops the wait), or refused by `limit`. */
export type Admission =
  | { readonly kind: "go" }
  | { readonly kind: "pending"; readonly cancel: () => void }
  | { readonly kind: "refused"; readonly limit: BreakerLimit; readonly message: string };

const GO: Admission = Object.freeze({ kind: "go" });

interface Waiter {
  readonly go: () => void;
}

/**
 * @example
 * const breaker = new CircuitBreaker("api", settings);
 * const a = breaker.admit(false, () => forward());
 * if (a.kind === "go") forward(); else if (a.kind === "refused") answer503(a.message);
 * // when the request ends, whatever its outcome:
 * breaker.release();
 */
export class CircuitBreaker {
  private active = 0;
  private retrying = 0;
  private readonly pending: Waiter[] = [];

  constructor(
    readonly cluster: string,
    readonly settings: CircuitBreakerSettings,
    private readonly events: BreakerEvents = {},
  ) {}

  /** Requests in flight (admitted and not released). */
  get requests(): number {
    return this.active;
  }

  /** Requests waiting for a connection. */
  get pendingRequests(): number {
    return this.pending.length;
  }

  /** Retries in flight. */
  get retries(): number {
    return this.retrying;
  }

  /**
   * Admits one request: "go" now (it holds a slot until release()), "pending" (`go` is called once a slot
   * frees, then it holds it), or "refused". `multiplexed`: the cluster is reached over HTTP/2.
   */
  admit(multiplexed: boolean, go: () => void): Admission {
    const s = this.settings;
    if (this.active >= s.maxRequests) {
      return this.refuse("max_requests", `${this.active} requests in flight, circuit_breakers max_requests is ${s.maxRequests}`);
    }
    if (this.pending.length === 0 && (multiplexed || this.active < s.maxConnections)) {
      this.active++;
      return GO;
    }
    if (this.pending.length >= s.maxPendingRequests) {
      return this.refuse("max_pending_requests", `${this.active} connections in use (max_connections ${s.maxConnections}) and ${this.pending.length} requests waiting, circuit_breakers max_pending_requests is ${s.maxPendingRequests}`);
    }
    const waiter: Waiter = { go };
    this.pending.push(waiter);
    return {
      kind: "pending",
      cancel: () => {
        const i = this.pending.indexOf(waiter);
        if (i >= 0) this.pending.splice(i, 1);
      },
    };
  }

  /** A request admitted earlier ended: its slot goes to the first request waiting, if any. */
  release(): void {
    if (this.active > 0) this.active--;
    while (this.pending.length > 0 && this.active < this.settings.maxRequests && this.active < this.settings.maxConnections) {
      this.active++;
      this.pending.shift()!.go();
    }
  }

  /** Retries allowed in flight now: max_retries, or the retry budget's share of the requests in flight and pending. */
  get retryLimit(): number {
    const s = this.settings;
    const b = s.retryBudget;
    return b === null ? s.maxRetries : Math.max(b.minRetryConcurrency, Math.floor(((this.active + this.pending.length) * b.budgetPercent) / 100));
  }

  /**
   * What each limit counts now, next to the limit (the gauges of /metrics). max_connections counts the requests
   * in flight, as admit() does: over HTTP/1.1 each holds one upstream connection.
   */
  usage(): { limit: BreakerLimit | "max_connections"; used: number; max: number }[] {
    const s = this.settings;
    return [
      { limit: "max_requests", used: this.active, max: s.maxRequests },
      { limit: "max_connections", used: this.active, max: s.maxConnections },
      { limit: "max_pending_requests", used: this.pending.length, max: s.maxPendingRequests },
      { limit: s.retryBudget === null ? "max_retries" : "retry_budget", used: this.retrying, max: this.retryLimit },
    ];
  }

  /** Whether one more retry may go out now; true holds a retry slot until retryDone(). */
  tryRetry(): boolean {
    const b = this.settings.retryBudget;
    const allowed = this.retryLimit;
    if (this.retrying >= allowed) {
      this.events.overflow?.(b === null ? "max_retries" : "retry_budget");
      return false;
    }
    this.retrying++;
    return true;
  }

  retryDone(): void {
    if (this.retrying > 0) this.retrying--;
  }

  private refuse(limit: BreakerLimit, detail: string): Admission {
    this.events.overflow?.(limit);
    return { kind: "refused", limit, message: `cluster ${this.cluster}: ${detail}` };
  }
}

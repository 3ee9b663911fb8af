// The upstream forwarder: takes a request that routing already resolved to a policy and a host picker, and
// proxies it over pooled keep-alive connections, with retries, deadlines and streaming both ways.

import type { IncomingMessage, ServerResponse } from "node:http";
import { systemClock, type Clock } from "../cluster/clock.js";
import type { AccessLogger, ForwardOutcome } from "./access-log.js";
import { Exchange, type ExchangeContext } from "./exchange.js";
import type { ForwardListener, ForwardPolicy, HostPicker } from "./policy.js";
import type { PoolRegistry } from "./pools.js";

export interface ForwarderOptions {
  readonly pools: PoolRegistry;
  /** A pino logger; one line per request at info (warn when the request failed). */
  readonly logger: AccessLogger;
  /** For durations (and ForwardListener.startedAt, which is read on it); systemClock by default. */
  readonly clock?: Clock;
}

/**
 * @example
 * const forwarder = new Forwarder({ pools: new PoolRegistry(), logger: pino() });
 * const policy = compileForwardPolicy({ timeoutMs: 15_000, retry: { attempts: 2, onStatuses: [503] } });
 * http.createServer((req, res) => {
 *   void forwarder.forward(req, res, policy, { pick: (exclude) => balancer.pick(subset, { exclude }) }, { route: "r1" });
 * });
 */
export class Forwarder {
  private readonly ctx: ExchangeContext;

  constructor(options: ForwarderOptions) {
    this.ctx = { pools: options.pools, logger: options.logger, clock: options.clock ?? systemClock };
  }

  /**
   * Forwards `req` and answers on `res`. Never rejects: every failure ends in an answer to the client
   * (503 no host / connect failure, 502 reset or bad upstream answer, 504 deadline, 400 bad target) or a
   * destroyed client socket when the response had started, and in the resolved outcome and the access log.
   * `fields` are added to the access log line (route, cluster, chain summary).
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    policy: ForwardPolicy,
    picker: HostPicker,
    fields?: Readonly<Record<string, unknown>>,
  ): Promise<ForwardOutcome> {
    return new Promise((resolve) => {
      this.dispatch(req, res, policy, { pick: (exclude) => picker.pick(exclude), done: resolve, logFields: () => fields });
    });
  }

  /**
   * forward() without a promise, for the request path: `listener` picks the host of every attempt and hears
   * the outcome once, synchronously from the callback that ended the request (inside this call when the
   * request fails at once, e.g. a target that is not a path).
   */
  dispatch(req: IncomingMessage, res: ServerResponse, policy: ForwardPolicy, listener: ForwardListener): void {
    new Exchange(this.ctx, req, res, policy, listener).run();
  }
}

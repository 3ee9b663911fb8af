// The active health checkers of a host: one per cluster whose config has health_check, probing over the
// cluster's own transport (TLS where it has a tls_context). Each check and each change is an event of the
// host (metrics count them) and each change a log line (an operator wants to know why a host left).

import type { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { Clock } from "../cluster/clock.js";
import type { ClusterManager } from "../cluster/cluster-manager.js";
import { ActiveHealthChecker } from "../cluster/health-check.js";
import type { RandomSource } from "../cluster/types.js";
import type { Config } from "../config/types.js";
import { probeFor } from "../proxy/health-probe.js";
import type { UpstreamTransport } from "../proxy/transport.js";

export interface HealthCheckDeps {
  readonly clusters: ClusterManager;
  readonly transports: ReadonlyMap<string, UpstreamTransport>;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly log: Logger;
  /** Gets "health-check" (cluster, host, result) and "health-changed" (cluster, host, healthy, result). */
  readonly events: EventEmitter;
}

export function startHealthChecks(config: Config, deps: HealthCheckDeps): Map<string, ActiveHealthChecker> {
  const out = new Map<string, ActiveHealthChecker>();
  const log = deps.log.child({ component: "health" });
  for (const c of config.clusters) {
    const cluster = deps.clusters.get(c.name);
    if (c.healthCheck === null || cluster === undefined) continue;
    const settings = c.healthCheck;
    const service = settings.serviceName === null ? {} : { service: settings.serviceName };
    out.set(c.name, new ActiveHealthChecker(cluster, settings, probeFor(settings, deps.transports.get(c.name)?.tls?.options ?? null), deps.clock, deps.random, {
      checked: (host, result) => deps.events.emit("health-check", c.name, host, result),
      changed: (host, healthy, result) => {
        const fields = { cluster: c.name, ...service, host: host.address, check: settings.kind, detail: result.detail, event: healthy ? "health-passed" : "health-failed" };
        if (healthy) log.info(fields, `host passed ${settings.healthyThreshold} health checks in a row; back in rotation`);
        else log.warn(fields, `host failed ${settings.unhealthyThreshold} health checks in a row; marked unhealthy`);
        deps.events.emit("health-changed", c.name, host, healthy, result);
      },
    }));
  }
  return out;
}

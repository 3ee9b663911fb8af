// One view of `--workers N` (host/server/workers.ts): GET /metrics on the primary aggregates every worker's
// registry with prom-client's AggregatorRegistry over node:cluster's IPC (the
// primary asks each connected worker, each answers with its registries as JSON, the primary merges them by
// each metric's `aggregator`: counters and histograms summed, gauges as host/metrics/metrics.ts marks them).
// The primary routes nothing, so its own registry is not part of the sum.

import { AggregatorRegistry, type Registry } from "prom-client";

/** In a worker: answer the primary's metric requests with this host's registry. */
export function answerMetricsFromWorker(registry: Registry): void {
  // Constructing one installs prom-client's worker listener (once per process); setRegistries says what it sends.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/** In the primary: GET /metrics, summed over every live worker (prom-client times out after 5 s). */
export class WorkersMetrics {
  private readonly aggregator = new AggregatorRegistry();

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.aggregator.contentType, body: await this.aggregator.clusterMetrics() };
  }
}

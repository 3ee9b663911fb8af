// Lookups by name over a Config. Config holds arrays (deep-frozen, JSON-printable); these are the few
// places that search them, at start or on reload, never per request.

import type { ClusterConfig, Config, RouterConfig } from "./types.js";

export function findCluster(config: Config, name: string): ClusterConfig | undefined {
  return config.clusters.find((c) => c.name === name);
}

export function findRouterConfig(config: Config, name: string): RouterConfig | undefined {
  return config.routerConfigs.find((c) => c.name === name);
}

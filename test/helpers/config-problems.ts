// What parseConfig refuses in a config, as "path: message" lines, or [] when it takes it: for tests that check
// the exact problems a bad config reports.
import { parseConfig } from "../../host/config/index.js";
import { ConfigError } from "../../host/config/errors.js";

export function configProblems(cfg: unknown, file = "config.json"): string[] {
  try {
    parseConfig(JSON.stringify(cfg), file);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

/** A minimal config, as JSON text: one listener, one route to cluster "c" (one host), with `cluster` merged
 * into that cluster, for tests of one cluster field. */
export function oneClusterConfig(cluster: Record<string, unknown>): string {
  return JSON.stringify({
    servers: [{
      routers: [{ router_config_name: "r", virtual_hosts: [{ name: "vh", domains: ["*"], routers: [{ match: { prefix: "/" }, route: { cluster_name: "c" } }] }] }],
      listeners: [{ name: "l", address: "127.0.0.1:8080", filter_chains: [{ filters: [{ type: "proxy", config: { router_config_name: "r" } }] }] }],
    }],
    cluster_manager: { clusters: [{ name: "c", hosts: [{ address: "127.0.0.1:1" }], ...cluster }] },
  });
}

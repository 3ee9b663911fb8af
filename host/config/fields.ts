// The fields Switchyard reads, per kind of object. The normalizer warns about any other field, and
// test/config-schema.test.ts checks that host/config/schema.ts documents exactly these, so the two cannot
// drift apart.

export const FIELDS = {
  root: ["servers", "cluster_manager", "admin", "switchyard"],
  server: ["listeners", "routers"],
  listener: ["name", "address", "filter_chains"],
  filterChain: ["filters"],
  filter: ["type", "config"],
  proxyConfig: ["downstream_protocol", "upstream_protocol", "router_config_name"],
  connectionManagerConfig: ["router_config_name", "virtual_hosts"],
  routerConfig: ["router_config_name", "virtual_hosts"],
  virtualHost: ["name", "domains", "routers"],
  router: ["match", "route", "direct_response"],
  match: ["prefix", "path", "regex", "headers"],
  headerMatcher: ["name", "value", "regex"],
  route: [
    "cluster_name", "weighted_clusters", "metadata_match", "timeout", "retry_policy", "prefix_rewrite",
    "host_rewrite", "request_headers_to_add", "switchyard",
  ],
  weightedCluster: ["cluster"],
  clusterWeight: ["name", "weight", "metadata_match"],
  retryPolicy: ["retry_on", "retry_timeout", "num_retries", "retry_on_statuses"],
  headerToAdd: ["header", "append"],
  headerValue: ["key", "value"],
  directResponse: ["status", "body"],
  routeSwitchyard: ["plugins", "fallback", "wait", "fail_fast"],
  wait: ["max_count"],
  clusterManager: ["clusters"],
  cluster: ["name", "Name", "type", "lb_type", "hosts", "lb_subset_config", "connect_timeout", "hash_header", "outlier_detection"],
  outlierDetection: ["consecutive_5xx", "base_ejection_time", "max_ejection_time"],
  host: ["address", "hostname", "weight", "metadata"],
  lbSubsetConfig: ["fall_back_policy", "default_subset"],
  admin: ["address"],
  adminAddress: ["socket_address"],
  socketAddress: ["address", "port_value"],
  switchyard: ["plugins_dir", "state_dir", "admin_token_file", "log_level"],
} as const satisfies Record<string, readonly string[]>;

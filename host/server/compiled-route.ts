// What the request path needs of one route, prepared once per config: the forward policy compiled from the
// route's timeout, retries, rewrites and headers. Built when a config is loaded (validate → freeze → swap), so a
// bad route fails the config load with its JSON path, never a request.

import type { RouteAction, RouteConfig } from "../config/types.js";
import { compileForwardPolicy, type ForwardPolicy } from "../proxy/policy.js";
import type { UpstreamTransport } from "../proxy/transport.js";

export interface CompiledRoute {
  /** The forward policy for each cluster the route can choose (weighted_clusters: one per cluster, each
   * with that cluster's connect_timeout). */
  readonly policies: ReadonlyMap<string, ForwardPolicy>;
}

/**
 * What prefix_rewrite replaces, as MOSN does: the matched prefix or path. A route that matches any path
 * (prefix "", or headers only) matched the empty prefix, so the rewrite is prepended: "/" becomes
 * rewrite + "/" (the forwarder wants a prefix that is a path). A regex route has no prefix to replace;
 * MOSN leaves its path alone and so do we.
 */
function rewriteOf(route: RouteConfig, rewrite: string | null): { prefix: string; replacement: string } | null {
  if (rewrite === null) return null;
  const m = route.match;
  if (m.regex !== null) return null;
  const matched = m.path ?? m.prefix ?? "";
  if (matched === "") return { prefix: "/", replacement: `${rewrite}/` };
  return { prefix: matched, replacement: rewrite };
}

/** `connectTimeoutOf` gives a cluster's connect_timeout, or null when the cluster is unknown (a route to a
 * cluster that is not there yet answers 503 at request time; the pool default applies meanwhile). */
export function compileRoute(route: RouteConfig, action: RouteAction, connectTimeoutOf: (cluster: string) => number | null, transportOf: (cluster: string) => UpstreamTransport | null = () => null): CompiledRoute {
  const policies = new Map<string, ForwardPolicy>();
  for (const choice of action.clusters) {
    if (policies.has(choice.name)) continue;
    policies.set(choice.name, compileForwardPolicy(
      {
        timeoutMs: action.timeoutMs,
        connectTimeoutMs: connectTimeoutOf(choice.name),
        retry:
          action.retry.numRetries > 0
            ? { attempts: action.retry.numRetries + 1, onConnectFailure: true, onStatuses: action.retry.retryOnStatuses, onGrpcStatuses: action.retry.retryOnGrpcStatuses, perTryTimeoutMs: action.retry.perTryTimeoutMs }
            : null,
        prefixRewrite: rewriteOf(route, action.prefixRewrite),
        hostRewrite: action.hostRewrite,
        headersToAdd: action.requestHeadersToAdd,
        transport: transportOf(choice.name),
      },
      route.where,
    ));
  }
  return Object.freeze({ policies });
}

// What the request path needs of one route, prepared once per config: the forward policy compiled from the
// route's timeout, retries, rewrites and headers. Built when a config is loaded (validate → freeze → swap), so a
// bad route fails the config load with its JSON path, never a request.

import type { RouteAction, RouteConfig } from "../config/types.js";
import { compileForwardPolicy, type ForwardPolicy } from "../proxy/policy.js";

export interface CompiledRoute {
  readonly policy: ForwardPolicy;
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

export function compileRoute(route: RouteConfig, action: RouteAction, connectTimeoutMs: number | null): CompiledRoute {
  const policy = compileForwardPolicy(
    {
      timeoutMs: action.timeoutMs,
      connectTimeoutMs,
      retry:
        action.retry.numRetries > 0
          ? { attempts: action.retry.numRetries + 1, onConnectFailure: true, onStatuses: action.retry.retryOnStatuses, perTryTimeoutMs: action.retry.perTryTimeoutMs }
          : null,
      prefixRewrite: rewriteOf(route, action.prefixRewrite),
      hostRewrite: action.hostRewrite,
      headersToAdd: action.requestHeadersToAdd,
    },
    route.where,
  );
  return Object.freeze({ policy });
}

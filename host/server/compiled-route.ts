// What the request path needs of one route, prepared once per config: the forward policy compiled from the
// route's timeout, retries, rewrites and headers. Built when a config is loaded (validate → freeze → swap), so a
// bad route fails the config load with its JSON path, never a request.

import type { RouteAction, RouteConfig } from "../config/types.js";
import { compileForwardPolicy, type ForwardPolicy } from "../proxy/policy.js";

export interface CompiledRoute {
  readonly policy: ForwardPolicy;
}

export function compileRoute(route: RouteConfig, action: RouteAction, connectTimeoutMs: number | null): CompiledRoute {
  const m = route.match;
  const matched = m.prefix ?? m.path;
  const policy = compileForwardPolicy(
    {
      timeoutMs: action.timeoutMs,
      connectTimeoutMs,
      retry:
        action.retry.numRetries > 0
          ? { attempts: action.retry.numRetries + 1, onConnectFailure: true, onStatuses: action.retry.retryOnStatuses, perTryTimeoutMs: action.retry.perTryTimeoutMs }
          : null,
      prefixRewrite: action.prefixRewrite !== null && matched !== null ? { prefix: matched, replacement: action.prefixRewrite } : null,
      hostRewrite: action.hostRewrite,
      headersToAdd: action.requestHeadersToAdd,
    },
    route.where,
  );
  return Object.freeze({ policy });
}

// What the route table answers for one request. Every RouteMatch is built once per config and returned as
// is, so a match allocates nothing.

import type { DirectResponse, RouteAction, RouteConfig } from "../config/types.js";

export type HeaderLookup = (name: string) => string | undefined;

interface MatchOf<A> {
  /** The virtual host's name, for logs and metrics. */
  readonly virtualHost: string;
  /** The router entry that matched; `route.where` is its JSON path in the config. */
  readonly route: RouteConfig;
  readonly action: A;
}

/**
 * A matched entry: forward to a cluster (`kind: "route"`, with what the table's user prepared for the route
 * once per config, `prepared`), or answer now (`kind: "direct"`).
 */
export type RouteMatch<P = null> =
  | (MatchOf<RouteAction> & { readonly kind: "route"; readonly prepared: P })
  | (MatchOf<DirectResponse> & { readonly kind: "direct" });

export interface RouteTable<P = null> {
  /** The router_config_name this table was compiled from. */
  readonly name: string;
  /**
   * The first router entry of the virtual host chosen by `authority` whose match holds, or null.
   * @param authority the Host header or :authority, port included or not, any case
   * @param path the request target, query included (the query is ignored by path matches)
   * @param headers lowercase name → value, undefined when absent
   */
  match(authority: string, path: string, headers: HeaderLookup): RouteMatch<P> | null;
}

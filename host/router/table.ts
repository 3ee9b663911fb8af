// compileRoutes: a RouterConfig → a RouteTable, built aside once per config and swapped in whole by the
// caller; nothing in it changes afterwards. What a forwarding route needs besides its match (the request
// path's forward policies, host/server/compiled-route.ts) is prepared by the caller's `prepare` and held by the entry,
// so that a match hands over everything at once.

import type { Config, RouteAction, RouteConfig, RouterConfig } from "../config/types.js";
import { DomainIndex } from "./domains.js";
import { CompiledMatch } from "./matcher.js";
import type { HeaderLookup, RouteMatch, RouteTable } from "./types.js";

interface CompiledEntry<P> {
  readonly match: CompiledMatch;
  readonly result: RouteMatch<P>;
}

class CompiledRouteTable<P> implements RouteTable<P> {
  constructor(
    readonly name: string,
    private readonly hosts: DomainIndex<readonly CompiledEntry<P>[]>,
  ) {}

  match(authority: string, path: string, headers: HeaderLookup): RouteMatch<P> | null {
    const entries = this.hosts.find(authority);
    if (entries === null) return null;
    const q = path.indexOf("?");
    const pathOnly = q < 0 ? path : path.slice(0, q);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.match.matches(pathOnly, headers)) return e.result;
    }
    return null;
  }
}

/**
 * Compile one router config.
 *
 * @example
 * const table = compileRoutes(findRouterConfig(config, listener.routerConfigName)!);
 * const m = table.match(req.headers.host ?? "", req.url ?? "/", (n) => header(req, n));
 * if (m === null) return respond(404);
 * @throws ConfigError (E_CONFIG_INVALID) naming the path of a bad regex (parseConfig already refuses
 *   those, so only a hand-built RouterConfig can get here).
 */
export function compileRoutes(routerConfig: RouterConfig, source?: string): RouteTable;
export function compileRoutes<P>(routerConfig: RouterConfig, source: string, prepare: (route: RouteConfig, action: RouteAction) => P): RouteTable<P>;
export function compileRoutes<P>(routerConfig: RouterConfig, source = "<config>", prepare?: (route: RouteConfig, action: RouteAction) => P): RouteTable<P | null> {
  const index = new DomainIndex<readonly CompiledEntry<P | null>[]>();
  for (const vh of routerConfig.virtualHosts) {
    const entries: CompiledEntry<P | null>[] = vh.routes.map((route) => {
      const a = route.action;
      const result: RouteMatch<P | null> = a.kind === "direct"
        ? { kind: "direct", virtualHost: vh.name, route, action: a }
        : { kind: "route", virtualHost: vh.name, route, action: a, prepared: prepare === undefined ? null : prepare(route, a) };
      return { match: new CompiledMatch(route.match, route.where, source), result: Object.freeze(result) };
    });
    Object.freeze(entries);
    for (const domain of vh.domains) index.add(domain, entries);
  }
  return new CompiledRouteTable(routerConfig.name, index);
}

/** Every router config of a config, by name: what a listener needs on (re)load. */
export function compileAllRoutes(config: Config): ReadonlyMap<string, RouteTable> {
  const tables = new Map<string, RouteTable>();
  for (const rc of config.routerConfigs) tables.set(rc.name, compileRoutes(rc, config.source));
  return tables;
}

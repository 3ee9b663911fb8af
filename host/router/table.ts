// compileRoutes: a RouterConfig → a RouteTable, built aside once per config and swapped in whole by the
// caller; nothing in it changes afterwards.

import type { Config, RouterConfig } from "../config/types.js";
import { DomainIndex } from "./domains.js";
import { CompiledMatch } from "./matcher.js";
import type { HeaderLookup, RouteMatch, RouteTable } from "./types.js";

interface CompiledEntry {
  readonly match: CompiledMatch;
  readonly result: RouteMatch;
}

class CompiledRouteTable implements RouteTable {
  constructor(
    readonly name: string,
    private readonly hosts: DomainIndex<readonly CompiledEntry[]>,
  ) {}

  match(authority: string, path: string, headers: HeaderLookup): RouteMatch | null {
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
export function compileRoutes(routerConfig: RouterConfig, source = "<config>"): RouteTable {
  const index = new DomainIndex<readonly CompiledEntry[]>();
  for (const vh of routerConfig.virtualHosts) {
    const entries: CompiledEntry[] = vh.routes.map((route) => ({
      match: new CompiledMatch(route.match, route.where, source),
      result: Object.freeze({ virtualHost: vh.name, route, action: route.action }),
    }));
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

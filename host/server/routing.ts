// A listener's routing, compiled once per config (validate → build aside → swap): its router config's route
// table, each forwarding entry holding the forward policies its request needs (compiled-route.ts). The pipeline
// routes with it and `explain` reads the same one, so both take one decision from one compiled shape.

import type { Config, ListenerConfig } from "../config/types.js";
import { transportFor, type UpstreamTransport } from "../proxy/transport.js";
import { compileRoutes, type RouteTable } from "../router/index.js";
import { compileRoute, type CompiledRoute } from "./compiled-route.js";

/** Everything a listener routes with; replaced whole on a config reload. */
export interface RoutingState {
  readonly table: RouteTable<CompiledRoute>;
}

/**
 * The routing of router config `routerConfigName` of `config`. `transports` are the TLS clusters' loaded
 * credentials (host.ts loadTransports), `upstreamProtocol` the listener's (MOSN's upstream_protocol).
 * @throws Error when the config has no router config of that name (parseConfig already refuses a listener
 *   naming one it does not have)
 */
export function buildRouting(config: Config, routerConfigName: string, transports: ReadonlyMap<string, UpstreamTransport> = new Map(), upstreamProtocol: ListenerConfig["upstreamProtocol"] = "http1"): RoutingState {
  const rc = config.routerConfigs.find((x) => x.name === routerConfigName);
  if (rc === undefined) throw new Error(`router config ${routerConfigName} not found`);
  const cluster = (name: string) => config.clusters.find((c) => c.name === name);
  const table = compileRoutes(rc, config.source, (route, action) =>
    compileRoute(route, action, (name) => cluster(name)?.connectTimeoutMs ?? null, (name) => {
      const c = cluster(name);
      return c === undefined ? null : transportFor(name, transports.get(name), c.http2, upstreamProtocol);
    }),
  );
  return Object.freeze({ table });
}

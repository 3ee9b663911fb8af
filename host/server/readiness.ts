// Readiness that tells the truth: the host is ready when it has started and every plugin a route names is
// loaded (a plugin in the registry was configured when it was built: a configure that refuses keeps the
// bundle out, as a refusal). A route may list some of its plugins in `optional_plugins`: it serves without
// them, so they are not awaited. A route without a `plugins` list runs whatever is loaded and awaits nothing.

import type { Config } from "../config/types.js";
import type { Refusal } from "../plugin/watcher.js";

export interface MissingPlugin {
  readonly plugin: string;
  /** The routes that name it and do not allow running without it ("where" paths of the config). */
  readonly routes: string[];
  /** The refusal of a bundle that provides this name, when one was refused (why it is missing). */
  readonly refused: Refusal | null;
}

export interface Readiness {
  readonly ready: boolean;
  readonly status: "ready" | "starting" | "missing-plugins";
  readonly missing: MissingPlugin[];
  /** Every bundle refused as it is now on disk, awaited or not. */
  readonly refused: Refusal[];
}

/** The plugins each route requires, by plugin name → the routes that require it. */
export function requiredPlugins(config: Config): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rc of config.routerConfigs) {
    for (const vh of rc.virtualHosts) {
      for (const route of vh.routes) {
        if (route.action.kind !== "route" || route.action.plugins === null) continue;
        for (const p of route.action.plugins) {
          if (route.action.optionalPlugins.includes(p)) continue;
          const list = out.get(p) ?? [];
          list.push(route.label);
          out.set(p, list);
        }
      }
    }
  }
  return out;
}

export function readiness(started: boolean, required: ReadonlyMap<string, string[]>, loaded: (name: string) => boolean, refused: readonly Refusal[]): Readiness {
  const missing: MissingPlugin[] = [];
  for (const [plugin, routes] of required) {
    if (loaded(plugin)) continue;
    missing.push({ plugin, routes, refused: refused.find((r) => r.name === plugin) ?? null });
  }
  const status = !started ? "starting" : missing.length > 0 ? "missing-plugins" : "ready";
  return { ready: status === "ready", status, missing, refused: [...refused] };
}

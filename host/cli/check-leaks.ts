// Warnings `switchyard check` adds to the parser's: configs that load and run, but can send traffic where an
// operator did not mean it to go. A route whose fallback is "any" and that runs router plugins sends a
// request to the whole cluster when the plugins keep no host: a plugin that narrows by tag (a canary, a
// tenant, a zone) then leaks that request to hosts it had excluded. `check --strict` makes them fatal.

import type { Config, ConfigWarning } from "../config/types.js";

export function leakWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  for (const rc of config.routerConfigs) {
    for (const vh of rc.virtualHosts) {
      for (const route of vh.routes) {
        const a = route.action;
        if (a.kind !== "route" || (a.plugins !== null && a.plugins.length === 0)) continue;
        for (const choice of a.clusters) {
          if (choice.fallback !== "any") continue;
          const runs = a.plugins === null ? "every loaded plugin" : `plugins ${a.plugins.map((p) => `"${p}"`).join(", ")}`;
          out.push({
            path: `${route.where}.route`,
            message: `fallback "any" behind ${runs} (cluster "${choice.name}"): when they keep no host the request goes to any host of the cluster, also to hosts a tag-narrowing plugin excluded; use "none" or "default" unless that is meant`,
          });
        }
      }
    }
  }
  return out;
}

// `switchyard explain --config <file> [--plugins <dir>] [--state <dir>] [--header 'k: v']… [--path /p]
//  [--method M] [--authority H] [--listener L] [--json]`: what the host would do with a sample request,
// without starting listeners or calling any upstream.

import pino from "pino";
import { ClusterManager } from "../cluster/cluster-manager.js";
import { loadConfigFile } from "../config/index.js";
import { PluginRegistry } from "../plugin/registry.js";
import { BundleWatcher } from "../plugin/watcher.js";
import { toClusterInput } from "../server/host.js";
import { StateStore, type LoadedHosts } from "../state/store.js";
import { chooseHostList } from "../server/host-sources.js";
import { explain, formatExplanation } from "../explain/explain.js";
import { parseArgs, str, UsageError } from "./args.js";

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ["config", "plugins", "state", "path", "method", "authority", "listener"], repeat: ["header"], flags: ["json"] });
  const file = str(p, "config");
  if (file === undefined) throw new UsageError("explain needs --config <file>");
  const { config } = await loadConfigFile(file);
  const log = pino({ level: "silent" });
  const clusters = new ClusterManager();
  const stateDir = str(p, "state") ?? config.switchyard.stateDir;
  const store = stateDir ? new StateStore(stateDir) : null;
  const saved = store ? await store.loadPluginConfigs() : new Map<string, { text: string; version: number }>();
  const savedHosts = store ? await store.loadClusterHosts() : new Map<string, LoadedHosts>();
  // The host list `run` would serve (host/server/host-sources.ts): a push, while the file's list is unchanged.
  clusters.replaceAll(config.clusters.map((c) => toClusterInput(c, chooseHostList(c, savedHosts.get(c.name)).hosts)));
  const registry = new PluginRegistry();
  const pluginsDir = str(p, "plugins") ?? config.switchyard.pluginsDir;
  if (pluginsDir) {
    const scan = await new BundleWatcher(pluginsDir, registry, { log, savedConfig: (n) => saved.get(n) }).scan();
    for (const r of scan.refused) process.stderr.write(`bundle refused: ${r.code}: ${r.message}\n`);
  }
  const headers: [string, string][] = (p.all.get("header") ?? []).map((h) => {
    const i = h.indexOf(":");
    if (i <= 0) throw new UsageError(`--header ${JSON.stringify(h)}: expected 'name: value'`);
    return [h.slice(0, i).trim(), h.slice(i + 1).trim()];
  });
  const e = explain({ config, clusters, registry }, {
    headers,
    path: str(p, "path") ?? "/",
    method: str(p, "method") ?? "GET",
    ...(str(p, "authority") !== undefined ? { authority: str(p, "authority")! } : {}),
    ...(str(p, "listener") !== undefined ? { listener: str(p, "listener")! } : {}),
  });
  process.stdout.write((p.options.has("json") ? JSON.stringify(e, null, 2) : formatExplanation(e)) + "\n");
  return 0;
}

// `switchyard explain --config <file> [--plugins <dir>] [--state <dir>] [--header 'k: v']… [--path /p]
//  [--method M] [--authority H] [--listener L] [--json]`: what the host would do with a sample request,
// without starting listeners or calling any upstream. With `--admin URL [--token T]` instead of --config, the
// running host is asked (POST /explain): its own state decides, pushes included.

import pino from "pino";
import { ClusterManager } from "../cluster/cluster-manager.js";
import { loadConfigFile } from "../config/index.js";
import { PluginRegistry } from "../plugin/registry.js";
import { BundleWatcher } from "../plugin/watcher.js";
import { toClusterInput } from "../server/host.js";
import { StateStore, type LoadedHosts } from "../state/store.js";
import { chooseHostList } from "../server/host-sources.js";
import { request } from "undici";
import { explain, formatExplanation, type Explanation, type SampleRequest } from "../explain/explain.js";
import { parseArgs, str, UsageError } from "./args.js";
import { adminErrorText } from "./error-line.js";

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ["config", "plugins", "state", "path", "method", "authority", "listener", "admin", "token"], repeat: ["header"], flags: ["json"] });
  const headers: [string, string][] = (p.all.get("header") ?? []).map((h) => {
    const i = h.indexOf(":");
    if (i <= 0) throw new UsageError(`--header ${JSON.stringify(h)}: expected 'name: value'`);
    return [h.slice(0, i).trim(), h.slice(i + 1).trim()];
  });
  const sample: SampleRequest = {
    headers,
    path: str(p, "path") ?? "/",
    method: str(p, "method") ?? "GET",
    ...(str(p, "authority") !== undefined ? { authority: str(p, "authority")! } : {}),
    ...(str(p, "listener") !== undefined ? { listener: str(p, "listener")! } : {}),
  };
  const admin = str(p, "admin");
  if (admin !== undefined) {
    if (str(p, "config") !== undefined) throw new UsageError("explain: give --admin (ask a running host) or --config (read the files), not both");
    return explainRemote(admin, str(p, "token") ?? process.env.SWITCHYARD_ADMIN_TOKEN, sample, p.options.has("json"));
  }
  const file = str(p, "config");
  if (file === undefined) throw new UsageError("explain needs --config <file>, or --admin URL to ask a running host");
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
  print(explain({ config, clusters, registry }, sample), p.options.has("json"));
  return 0;
}

function print(e: Explanation, json: boolean): void {
  process.stdout.write((json ? JSON.stringify(e, null, 2) : formatExplanation(e)) + "\n");
}

/** POST /explain on a running host: its own config, clusters, plugins and pushed state decide. */
async function explainRemote(admin: string, token: string | undefined, sample: SampleRequest, json: boolean): Promise<number> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await request(new URL("/explain", admin), { method: "POST", headers, body: JSON.stringify(sample) });
  const text = await res.body.text();
  if (res.statusCode === 200) {
    print(JSON.parse(text) as Explanation, json);
    return 0;
  }
  process.stderr.write(`explain: ${admin} answered ${res.statusCode}: ${adminErrorText(text)}\n`);
  return 1;
}

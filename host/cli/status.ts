// `switchyard status --source etcd://host:port/prefix [--json]`: which live hosts run which revision of each
// plugin's config in etcd (host/fleet/keys.ts), and the plugin's message where a host rejected it; then, when
// host lists are kept in etcd, which revision of each cluster's host list each host applied.

import { explainEtcdError } from "../fleet/etcd-errors.js";
import { readFleet } from "../fleet/fleet-view.js";
import { etcdClient } from "../fleet/etcd-client.js";
import { parseSource } from "../fleet/source-url.js";
import { parseArgs, str, UsageError } from "./args.js";

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ["source"], flags: ["json"] });
  const text = str(p, "source") ?? process.env.SWITCHYARD_SOURCE;
  if (text === undefined) throw new UsageError("usage: switchyard status --source etcd://host:port/prefix [--json]");
  const settings = parseSource(text);
  const client = etcdClient(settings);
  try {
    const view = await readFleet(client, settings.prefix).catch(async (err: unknown) => {
      throw await explainEtcdError(err, settings);
    });
    if (p.options.has("json")) {
      process.stdout.write(JSON.stringify(view, null, 2) + "\n");
      return 0;
    }
    const rows = [["HOST", "PLUGIN", "REVISION", "STATE", "CONFIG", "MESSAGE"]];
    for (const m of view.members) {
      const mine = view.statuses.filter((s) => s.host === m.host);
      if (mine.length === 0) rows.push([m.host, "-", "-", "-", "-", ""]);
      for (const s of mine) rows.push([s.host, s.plugin, String(s.revision), s.state, s.configVersion === undefined ? "-" : String(s.configVersion), s.message ?? ""]);
    }
    table(rows);
    if (view.hostLists.length > 0) {
      const lists = [["HOST", "CLUSTER", "REVISION", "STATE", "VERSION", "HOSTS", "MESSAGE"]];
      for (const m of view.members) {
        for (const s of view.hostLists.filter((x) => x.host === m.host)) {
          lists.push([s.host, s.cluster, String(s.revision), s.state, s.hostsVersion === undefined ? "-" : String(s.hostsVersion), s.hosts === undefined ? "-" : String(s.hosts), s.message ?? ""]);
        }
      }
      process.stdout.write("\n");
      table(lists);
    }
    process.stdout.write(`${view.members.length} live host(s) at etcd revision ${view.revision}\n`);
    return 0;
  } finally {
    client.close();
  }
}

/** Columns padded to their widest cell; the last column as it is. */
function table(rows: readonly string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd() + "\n");
}

// `switchyard push <name> <file|-> --source etcd://…` and `switchyard hosts <cluster> <file|-> --source …`
// [--if-match REV] [--wait] [--timeout S]: write a plugin config or a cluster's host list to etcd instead of
// one host's admin API; every host watching the prefix applies it (or refuses it). --wait waits until every
// live host reports the revision written or a later one (bounded by --timeout).

import { setTimeout as sleep } from "node:timers/promises";
import { pendingHosts, readFleet, reportsFor, writeKey } from "./fleet-view.js";
import { explainEtcdError } from "./etcd-errors.js";
import { hostsKey, pluginKey } from "./keys.js";
import { etcdClient } from "./etcd-client.js";
import { parseSource, SourceError } from "./source-url.js";

export interface SourcePush {
  readonly source: string;
  /** A plugin's config (<prefix>/plugins/<name>) or a cluster's host list (<prefix>/clusters/<name>/hosts). */
  readonly kind: "plugin" | "cluster";
  readonly name: string;
  readonly body: string;
  readonly ifMatch?: number;
  readonly wait: boolean;
  readonly timeoutMs: number;
}

export async function pushToSource(o: SourcePush, out: (line: string) => void): Promise<number> {
  const settings = parseSource(o.source);
  const client = etcdClient(settings);
  const key = o.kind === "plugin" ? pluginKey(settings.prefix, o.name) : hostsKey(settings.prefix, o.name);
  try {
    const revision = await writeKey(client, key, o.body, o.ifMatch);
    out(`written: ${key} at revision ${revision}`);
    if (!o.wait) return 0;
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const view = await readFleet(client, settings.prefix);
      const reports = reportsFor(view, o.kind, o.name);
      const pending = pendingHosts(view, reports, revision);
      if (view.members.length === 0) throw new SourceError(`--wait: no live host reports under ${settings.prefix}/members/`);
      if (pending.length === 0) {
        let failed = 0;
        for (const m of view.members) {
          const s = reports.find((x) => x.host === m.host)!;
          if (s.state !== "applied") failed++;
          out(`${m.host}: ${s.state} revision ${s.revision}${s.message ? `: ${s.message}` : ""}`);
        }
        out(`${view.members.length - failed} of ${view.members.length} live host(s) applied revision ${revision}`);
        return failed === 0 ? 0 : 1;
      }
      // Polled, bounded by --timeout: a command-line wait, not a test's.
      if (Date.now() >= deadline) throw new SourceError(`--wait: after ${o.timeoutMs} ms, ${pending.length} host(s) had not reported revision ${revision}: ${pending.join(", ")}`);
      await sleep(100);
    }
  } catch (err) {
    throw await explainEtcdError(err, settings);
  } finally {
    client.close();
  }
}

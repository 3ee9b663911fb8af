// `switchyard hosts <cluster> <file|-> --source etcd://… [--if-match REV] [--wait] [--timeout S]`: writes a
// cluster's host list (a JSON array in the body shape of PUT /clusters/<name>/hosts) to
// <prefix>/clusters/<cluster>/hosts; every host of the fleet applies it (host/fleet/etcd-source.ts). The list is
// checked here first with the hosts' own validation, so that a list every host would refuse never reaches etcd.
// Exit 0 written (and, with --wait, applied by every live host), 1 refused, 2 usage.

import { parseJsonBody } from "../admin/http.js";
import { clusterNameProblem } from "../cluster/cluster-name.js";
import { validateHostSpecs } from "../cluster/host-spec.js";
import { normalizeHostList } from "../config/host-list.js";
import { parseArgs, str, UsageError } from "./args.js";
import { readSource, writeToSource } from "./push.js";

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ["if-match", "source", "timeout"], flags: ["wait"] });
  const [cluster, file] = p.positional;
  const source = str(p, "source") ?? process.env.SWITCHYARD_SOURCE;
  if (cluster === undefined || file === undefined || source === undefined) {
    throw new UsageError("usage: switchyard hosts <cluster> <hosts.json|-> --source etcd://host:port/prefix [--if-match REV] [--wait] [--timeout S]");
  }
  const problem = clusterNameProblem(cluster);
  if (problem !== null) throw new UsageError(`hosts: cluster name: ${problem}`);
  const body = await readSource(file);
  validateHostSpecs(cluster, normalizeHostList(parseJsonBody(body, file === "-" ? "the host list" : file)));
  return writeToSource(p, source, "cluster", cluster, body);
}

// What a chain test hands PluginChain.run directly, with no listener: a snapshot of loopback hosts (never sent
// traffic) and a request of the given headers.

import type { RequestParts } from "../../host/abi/codec.js";
import { HostStatus, type ClusterSnapshot, type Host } from "../../host/cluster/types.js";

export function chainSnapshot(cluster: string, n: number, tags: (i: number) => Record<string, string> = () => ({})): ClusterSnapshot {
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) hosts.push({ address: `127.0.1.${i}:80`, hostname: undefined, weight: 1, healthy: true, tags: tags(i), status: HostStatus.Available, pending: 0 });
  return { cluster, version: 1, id: 1, hosts };
}

export const chainRequest = (headers: Record<string, string>): RequestParts => ({ method: "GET", path: "/", authority: "a", rawHeaders: Object.entries(headers).flat() });

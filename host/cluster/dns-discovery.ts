// DNS discovery of a cluster's hosts: MOSN's / Envoy's STRICT_DNS (each configured name re-resolved on an
// interval, A and AAAA, every address a host on the configured port) and SRV (go-kit's dnssrv publisher: each
// record's target, port and weight; a target that is a name is resolved with the same servers). Weight and tags
// come from the configured host, so that plugins route on them; an SRV weight replaces the configured one.
//
// A failed lookup (timeout, refused, SERVFAIL, no such name, no records) keeps that name's last good list: DNS
// trouble never empties a cluster. The list is applied through the host's own host-list path (validated, built
// aside and swapped; removed hosts closed), which ignores a list equal to the one serving. Timers come from an
// injected Clock; the next lookup is scheduled only when one ends, so lookups never pile up.

import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import type { Clock, TimerHandle } from "./clock.js";
import type { HostSpec } from "./types.js";

/** A host of the config as a DNS cluster reads it: the name to resolve, and what each address found inherits. */
export interface DnsName {
  /** A host name (STRICT_DNS) or an SRV name (SRV). */
  readonly name: string;
  /** STRICT_DNS: the port of every address; SRV: unused (each record has its own). */
  readonly port: number;
  readonly weight: number;
  readonly tags: Readonly<Record<string, string>>;
}

/** How one refresh went: the names whose lookup failed (their last good list kept) and the hosts applied. */
export interface DnsOutcome {
  readonly cluster: string;
  readonly failed: readonly { name: string; code: string }[];
  readonly hosts: number;
}

export interface DnsDiscoveryOptions {
  readonly cluster: string;
  readonly mode: "strict_dns" | "dns_srv";
  readonly names: readonly DnsName[];
  readonly refreshMs: number;
  /** "ip:port" of the DNS servers; empty: the system's. */
  readonly servers: readonly string[];
  readonly clock: Clock;
  /** Applies a resolved host list (the host's own path: validated, swapped, spread to workers). */
  apply(hosts: readonly HostSpec[]): Promise<unknown>;
  /** After each refresh, applied or not. */
  readonly onRefresh?: (o: DnsOutcome) => void;
  /** Per lookup: how long one try waits, and how many tries (node:dns Resolver's timeout and tries). */
  readonly timeoutMs?: number;
  readonly tries?: number;
}

export class DnsDiscovery {
  private readonly resolver: Resolver;
  /** The last good hosts of each name: kept when its lookup fails. */
  private readonly good = new Map<string, readonly HostSpec[]>();
  private timer: TimerHandle | null = null;
  private stopped = false;
  private running: Promise<DnsOutcome> | null = null;

  constructor(private readonly o: DnsDiscoveryOptions) {
    this.resolver = new Resolver({ timeout: o.timeoutMs ?? 1000, tries: o.tries ?? 2 });
    if (o.servers.length > 0) this.resolver.setServers([...o.servers]);
  }

  /** Resolves once now (the host waits for it before it serves), then every refreshMs after each refresh ends. */
  async start(): Promise<DnsOutcome> {
    const first = await this.refresh();
    this.schedule();
    return first;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    this.resolver.cancel();
  }

  /** One lookup of every name, then the list applied; a refresh asked for while one runs joins it. */
  refresh(): Promise<DnsOutcome> {
    this.running ??= this.resolveAll().finally(() => (this.running = null));
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      void this.refresh().finally(() => this.schedule());
    }, this.o.refreshMs);
  }

  private async resolveAll(): Promise<DnsOutcome> {
    const failed: { name: string; code: string }[] = [];
    await Promise.all(
      this.o.names.map(async (n) => {
        try {
          const hosts = this.o.mode === "dns_srv" ? await this.srv(n) : await this.addresses(n.name, n.port, n.weight, n.tags, n.name);
          if (hosts.length === 0) throw Object.assign(new Error(`no records for ${n.name}`), { code: "ENODATA" });
          this.good.set(n.name, hosts);
        } catch (err) {
          failed.push({ name: n.name, code: String((err as { code?: unknown }).code ?? (err as Error).message) });
        }
      }),
    );
    // In the order of the config, each name's addresses sorted: the same records give the same list, whatever
    // order the server rotates them in. An address found twice is one host (the first name's).
    const seen = new Set<string>();
    const hosts: HostSpec[] = [];
    for (const n of this.o.names) {
      for (const h of this.good.get(n.name) ?? []) {
        if (seen.has(h.address)) continue;
        seen.add(h.address);
        hosts.push(h);
      }
    }
    // Nothing ever resolved: the cluster keeps what it has (the state folder's last list, or none).
    if (!this.stopped && this.good.size > 0) await this.o.apply(hosts);
    const outcome = { cluster: this.o.cluster, failed, hosts: hosts.length };
    this.o.onRefresh?.(outcome);
    return outcome;
  }

  /** Every A and AAAA address of `name` (an IP literal is itself), sorted, each a host on `port`. */
  private async addresses(name: string, port: number, weight: number, tags: Readonly<Record<string, string>>, hostname: string): Promise<HostSpec[]> {
    let ips: string[];
    if (isIP(name) !== 0) ips = [name];
    else {
      const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(name), this.resolver.resolve6(name)]);
      if (v4.status === "rejected" && v6.status === "rejected") throw noData(v4.reason) ? v6.reason : v4.reason;
      // One family without records (ENODATA) is normal; any other failure of one family fails the name.
      for (const r of [v4, v6]) if (r.status === "rejected" && !noData(r.reason)) throw r.reason;
      ips = [...(v4.status === "fulfilled" ? v4.value : []), ...(v6.status === "fulfilled" ? v6.value : [])];
    }
    return ips.sort().map((ip) => ({ address: isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`, hostname, weight, tags }));
  }

  /** go-kit's dnssrv: every SRV record a host (target resolved, its port, its weight; priority unused). */
  private async srv(n: DnsName): Promise<HostSpec[]> {
    const records = await this.resolver.resolveSrv(n.name);
    const out: HostSpec[] = [];
    for (const r of records.sort((a, b) => a.name.localeCompare(b.name) || a.port - b.port)) {
      out.push(...(await this.addresses(r.name, r.port, Math.max(1, r.weight), n.tags, r.name)));
    }
    return out;
  }
}

function noData(err: unknown): boolean {
  return (err as { code?: unknown }).code === "ENODATA";
}

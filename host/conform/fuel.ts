// Fuel per call kind, for `switchyard conform`'s budget report: a CallMeter around the sandbox's own meter
// (host/sandbox/plugin-hooks.ts) that arms exactly as the host does, and before arming the next call reads
// what the previous one left (host/sandbox/exports.ts sy_fuel_left). Never on a host's request path.

import type { Guest } from "../abi/guest.js";
import type { CallKind, CallMeter } from "../plugin/instance.js";
import { sandboxExportsOf } from "../sandbox/exports.js";
import type { SandboxMeter } from "../sandbox/plugin-hooks.js";

/** The call kinds as the report names them: the first sy_route over a new table is armed like its load. */
export type FuelRow = "configure" | "headers" | "set_hosts" | "route (first over a new table)" | "route" | "group";

export interface FuelUse {
  readonly kind: FuelRow;
  /** The host count of the table the calls were made over (0 for configure and headers). */
  readonly hosts: number;
  calls: number;
  /** The most fuel one call used, and what that call was allowed. */
  maxUsed: number;
  allowedAtMax: number;
  /** The highest share of its allowance one call used (0..1; 1 when a call ran out). */
  maxShare: number;
}

export class FuelRecorder implements CallMeter {
  /** The host count the next calls are made over: the suite sets it before each step. */
  hosts = 0;
  private readonly rows = new Map<string, FuelUse>();
  private pending: { guest: Guest; kind: FuelRow; allowed: number; hosts: number } | null = null;

  constructor(private readonly inner: SandboxMeter) {}

  arm(guest: Guest, inputBytes = 0, kind: CallKind = "route"): void {
    this.settle();
    this.inner.arm(guest, inputBytes);
    const row: FuelRow = kind === "route" && inputBytes > 0 ? "route (first over a new table)" : kind;
    this.pending = { guest, kind: row, allowed: this.inner.budget.lastArmed, hosts: kind === "configure" || kind === "headers" ? 0 : this.hosts };
  }

  /** Records the call armed last (its counter is read, not reset); the suite calls it after each step too. */
  settle(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    const ex = sandboxExportsOf(p.guest.exports as unknown as WebAssembly.Exports);
    if (ex === null) return;
    let left: number;
    try {
      left = ex.sy_fuel_left();
    } catch {
      return; // an instance whose helpers cannot run any more: its failure is reported by the check
    }
    const used = left < 0 ? p.allowed : p.allowed - left;
    const key = `${p.kind}@${p.hosts}`;
    let r = this.rows.get(key);
    if (r === undefined) this.rows.set(key, (r = { kind: p.kind, hosts: p.hosts, calls: 0, maxUsed: 0, allowedAtMax: p.allowed, maxShare: 0 }));
    r.calls++;
    const share = left < 0 ? 1 : used / p.allowed;
    if (share >= r.maxShare) {
      r.maxShare = share;
      r.maxUsed = used;
      r.allowedAtMax = p.allowed;
    }
  }

  /** Every row, by call kind then host count. */
  uses(): FuelUse[] {
    this.settle();
    const order: FuelRow[] = ["configure", "headers", "set_hosts", "route (first over a new table)", "route", "group"];
    return [...this.rows.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.hosts - b.hosts);
  }
}

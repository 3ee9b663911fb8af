// One chain decision as `switchyard conform` compares and reports it: the verdict, the kept hosts by a digest
// of their indices (a 65,536-host answer is compared, not printed), the metadata, and a short description.

import { createHash } from "node:crypto";
import type { ChainDecision } from "../plugin/chain.js";

export interface Answer {
  /** Equal keys: the same answer. */
  readonly key: string;
  /** For a report: the verdict, how many hosts were kept (and the first few), the metadata. */
  readonly text: string;
}

/** A plugin failure or a quarantine that a decision's steps report, else null. */
export function failureOf(d: ChainDecision): string | null {
  for (const s of d.steps) {
    if (s.outcome === "failed") return `${s.failure!.kind} failure: ${s.failure!.detail}`;
    if (s.outcome === "quarantined") return "the plugin is quarantined after repeated failures";
  }
  return d.outcome === "fail" ? `${d.failure.kind} failure: ${d.failure.detail}` : null;
}

export function answerOf(d: ChainDecision): Answer {
  if (d.outcome === "reject") return { key: `reject ${d.status} ${JSON.stringify(d.body)}`, text: `reject ${d.status} ${JSON.stringify(d.body.slice(0, 80))}` };
  if (d.outcome === "wait") return { key: `wait ${d.waitMs}`, text: `wait ${d.waitMs} ms` };
  if (d.outcome === "fail") return { key: "fail", text: `fail: ${d.failure.detail}` };
  const { snapshot, indices, count } = d.subset;
  const first: string[] = [];
  for (let i = 0; i < Math.min(count, 3); i++) first.push(snapshot.hosts[indices === null ? i : indices[i]!]!.address);
  const kept = indices === null ? `all ${count}` : createHash("sha256").update(new Uint8Array(indices.buffer, indices.byteOffset, count * 4)).digest("hex");
  const meta = d.metadata.map(([k, v]) => `${k}=${v}`).join(",");
  const described = count === 0 ? "no host" : `${count} of ${snapshot.hosts.length} hosts (${first.join(", ")}${count > 3 ? ", …" : ""})`;
  return { key: `accept ${kept} ${meta}`, text: `accept ${described}${meta ? ` metadata {${meta}}` : ""}` };
}

/** A request as a report line: its method, path and the headers the suite sent. */
export function describeRequest(req: { method: string; path: string; rawHeaders: readonly string[] }): string {
  const h: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) h.push(`${req.rawHeaders[i]}: ${JSON.stringify(req.rawHeaders[i + 1])}`);
  return `${req.method} ${req.path}${h.length ? ` {${h.join(", ")}}` : " (no headers)"}`;
}

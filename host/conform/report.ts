// `switchyard conform`'s report as text: one block per check (what was expected, what was seen), then the fuel
// table. The --json form is the ConformReport itself.

import type { ConformReport } from "./suite.js";

const MARK = { pass: "PASS", fail: "FAIL", warn: "WARN" } as const;

export function formatReport(r: ConformReport): string {
  const lines: string[] = [];
  const who = r.plugin ? `${r.plugin.name}@${r.plugin.version} (order ${r.plugin.order})` : "(not loaded)";
  lines.push(`conform ${r.bundle}: ${who}`);
  for (const c of r.checks) {
    lines.push(`${MARK[c.status]} ${c.id}: ${c.title}`);
    if (c.status !== "pass") lines.push(`     expected: ${c.expected}`);
    lines.push(`     ${c.status === "pass" ? "" : "seen: "}${c.seen}`);
  }
  if (r.fuel.length > 0) {
    lines.push("", "fuel per call (the most one call used, what it was allowed, the share):");
    lines.push(`  ${"call".padEnd(31)} ${"hosts".padStart(7)} ${"calls".padStart(7)} ${"max used".padStart(14)} ${"allowed".padStart(14)} ${"share".padStart(6)}`);
    for (const u of r.fuel) {
      lines.push(`  ${u.kind.padEnd(31)} ${(u.hosts === 0 ? "-" : String(u.hosts)).padStart(7)} ${String(u.calls).padStart(7)} ${u.maxUsed.toLocaleString("en-US").padStart(14)} ${u.allowedAtMax.toLocaleString("en-US").padStart(14)} ${`${(u.maxShare * 100).toFixed(1)}%`.padStart(6)}`);
    }
  }
  const failed = r.checks.filter((c) => c.status === "fail").length;
  const warned = r.checks.filter((c) => c.status === "warn").length;
  lines.push("", r.ok ? `conform: ${r.checks.length} checks passed${warned ? ` (${warned} with a warning)` : ""}` : `conform: ${failed} of ${r.checks.length} checks failed`);
  return lines.join("\n") + "\n";
}

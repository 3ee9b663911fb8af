// sdk/ABI.md §8 keeps every limit in one place on each side; this test keeps the two sides equal.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as host from "../host/abi/limits.js";

describe("ABI limits", () => {
  const guestText = readFileSync(new URL("../sdk/assembly/limits.ts", import.meta.url), "utf8");
  const guest = new Map<string, number>();
  for (const m of guestText.matchAll(/export const (\w+)\s*:\s*\w+\s*=\s*([0-9_]+)\s*;/g)) guest.set(m[1]!, Number(m[2]!.replace(/_/g, "")));

  it("the guest declares every host limit with the same value", () => {
    const names = ["ABI_VERSION", "MAX_HOSTS", "MAX_TAGS_PER_HOST", "MAX_WEIGHT", "MAX_TABLES", "MAX_HEADERS", "MAX_REQUEST_BYTES", "MAX_CONFIG_BYTES", "MAX_MESSAGE_BYTES", "MAX_BODY_BYTES", "MAX_META_PAIRS", "MAX_META_BYTES", "MAX_WAIT_MS", "MAX_LOG_BYTES", "MAX_GROUPS"] as const;
    for (const n of names) expect([n, guest.get(n)]).toEqual([n, host[n]]);
  });

  it("sdk/c/switchyard.h and sdk/rust/switchyard.rs declare the same limits, areas, statuses and verdicts", () => {
    const c = readFileSync(new URL("../sdk/c/switchyard.h", import.meta.url), "utf8");
    const rust = readFileSync(new URL("../sdk/rust/switchyard.rs", import.meta.url), "utf8");
    const cValues = new Map<string, number>();
    for (const m of c.matchAll(/^#define SY_(\w+) \(?(-?[0-9]+)u?\)?$/gm)) cValues.set(m[1]!, Number(m[2]!));
    const rustValues = new Map<string, number>();
    for (const m of rust.matchAll(/^pub const (\w+): \w+ = ([0-9]+);$/gm)) rustValues.set(m[1]!, Number(m[2]!));
    const cName: Record<string, string> = { STATUS_OK: "OK", STATUS_REJECTED: "REJECTED", STATUS_BAD_INPUT: "BAD_INPUT", STATUS_NO_TABLE: "NO_TABLE", STATUS_NOT_CONFIGURED: "NOT_CONFIGURED", STATUS_NO_GROUP: "NO_GROUP", VERDICT_ACCEPT: "ACCEPT", VERDICT_REJECT: "REJECT", VERDICT_WAIT: "WAIT" };
    const numeric = Object.entries(host).filter((e): e is [string, number] => typeof e[1] === "number" && e[0] !== "OUTPUT_BYTES");
    expect(numeric.length).toBeGreaterThan(30);
    for (const [n, v] of numeric) {
      expect(["C", n, cValues.get(cName[n] ?? n)]).toEqual(["C", n, v]);
      expect(["Rust", n, rustValues.get(n)]).toEqual(["Rust", n, v]);
    }
  });

  it("ABI.md states the same numbers", () => {
    const doc = readFileSync(new URL("../sdk/ABI.md", import.meta.url), "utf8");
    for (const n of ["MAX_HOSTS", "MAX_HEADERS", "MAX_BODY_BYTES", "MAX_META_BYTES", "MAX_CONFIG_BYTES", "MAX_GROUPS"] as const) {
      const m = doc.match(new RegExp("`" + n + "` \\| ([0-9,]+)"));
      expect([n, m && Number(m[1]!.replace(/,/g, ""))]).toEqual([n, host[n]]);
    }
  });
});

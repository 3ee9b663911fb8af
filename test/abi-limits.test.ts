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

  it("ABI.md states the same numbers", () => {
    const doc = readFileSync(new URL("../sdk/ABI.md", import.meta.url), "utf8");
    for (const n of ["MAX_HOSTS", "MAX_HEADERS", "MAX_BODY_BYTES", "MAX_META_BYTES", "MAX_CONFIG_BYTES", "MAX_GROUPS"] as const) {
      const m = doc.match(new RegExp("`" + n + "` \\| ([0-9,]+)"));
      expect([n, m && Number(m[1]!.replace(/,/g, ""))]).toEqual([n, host[n]]);
    }
  });
});

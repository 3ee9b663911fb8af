// sdk/ABI.md §8 keeps every limit in one place on each side; this test keeps the two sides equal.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as host from "../host/abi/limits.js";
import { callFuel, DEFAULT_CPU_MS, FUEL_PER_MS, fuelForMs, INPUT_FUEL_PER_BYTE, MAX_CPU_MS } from "../host/sandbox/budget.js";
import { MAX_FUEL } from "../host/sandbox/exports.js";
import { DEFAULT_START_FUEL } from "../host/sandbox/instrument.js";
import { DEFAULT_MEMORY_PAGES } from "../host/sandbox/plugin-hooks.js";

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

  it("ABI.md states the same numbers: every limit of §8, every status code of §3", () => {
    const doc = readFileSync(new URL("../sdk/ABI.md", import.meta.url), "utf8");
    const limits = Object.entries(host).filter((e): e is [string, number] => typeof e[1] === "number" && (e[0].startsWith("MAX_") || e[0] === "ABI_VERSION"));
    expect(limits.length).toBeGreaterThan(15);
    for (const [n, v] of limits) {
      const m = doc.match(new RegExp("\\| `" + n + "`[^|]*\\| ([0-9,]+) \\|"));
      expect([n, m && Number(m[1]!.replace(/,/g, ""))]).toEqual([n, v]);
    }
    expect(doc).toContain(`= ${host.OUTPUT_BYTES.toLocaleString("en-US")} |`);
    for (const [n, v] of Object.entries(host).filter(([k]) => k.startsWith("STATUS_"))) {
      expect([n, new RegExp("\\| " + v + " \\| `" + n.slice("STATUS_".length) + "` \\|").test(doc)]).toEqual([n, true]);
    }
  });

  it("ABI.md §7 and §9 state the sandbox's numbers and the loader's name rule", () => {
    const doc = readFileSync(new URL("../sdk/ABI.md", import.meta.url), "utf8");
    const fmt = (n: number) => n.toLocaleString("en-US");
    expect(doc).toContain(`\`FUEL_PER_MS\` = ${fmt(FUEL_PER_MS)} fuel per ms`);
    expect(doc).toContain(`budget + ${INPUT_FUEL_PER_BYTE} × \`len\``);
    expect(doc).toContain(`\`DEFAULT_CPU_MS\` = ${DEFAULT_CPU_MS} ms = ${fmt(fuelForMs(DEFAULT_CPU_MS))} fuel`);
    expect(doc).toContain(`\`MAX_CPU_MS\` = ${MAX_CPU_MS}`);
    expect(doc).toContain(`\`DEFAULT_START_FUEL\` = ${fmt(DEFAULT_START_FUEL)}`);
    expect(doc).toContain(`\`DEFAULT_MEMORY_PAGES\` = ${DEFAULT_MEMORY_PAGES} (${(DEFAULT_MEMORY_PAGES * 64) / 1024} MiB)`);
    expect(MAX_FUEL).toBe(2 ** 31 - 1);
    expect(doc).toContain("`MAX_FUEL` = 2³¹−1");
    // When both cpuMs and fuel are given, the smaller wins: what the doc says, what callFuel does.
    expect(doc).toContain("**when both are given the smaller wins**");
    expect(callFuel({ cpuMs: 1, fuel: 5 })).toBe(5);
    expect(callFuel({ cpuMs: 1, fuel: 10 ** 9 })).toBe(fuelForMs(1));
    const loader = readFileSync(new URL("../host/plugin/bundle.ts", import.meta.url), "utf8");
    const nameRe = loader.match(/const NAME_RE = \/(.+)\/;/)![1]!;
    expect(doc).toContain("| `name` | yes | `" + nameRe + "`");
  });
});

// Issue 5, "Must show", through a real SwitchyardHost: for every failure fixture the host keeps serving, the
// client gets what the plugin's policy says (fail open → the next plugin and the upstream; fail closed → 503),
// the log line names the plugin, its version and the reason, and GET /plugins shows the failure by kind and
// the quarantine. The fixture (order 0) runs before the example plugin `deny` (order 5), which answers 403 to
// `x-client: bad-bot`: a 403 after a failure proves the chain went on to the next plugin.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { editMetadata, startFailureHost, type FailureHost } from "./fixtures/failure-host.js";

/** Each route-time failure fixture, the kind the host must classify it as, and what its log line must say. */
const ROUTE_FAILURES = [
  { name: "loop-route", kind: "budget", reason: /out of fuel: the call used its whole budget/ },
  { name: "memory-bomb", kind: "memory", reason: /memory\.grow by \d+ pages refused at \d+ pages: past its cap of 256 pages/ },
  { name: "trap", kind: "trap", reason: /unreachable/ },
  { name: "abort-message", kind: "abort", reason: /^boom from plugin/ },
  { name: "bad-index", kind: "answer", reason: /invalid answer: kept\[0\] index 2 is out of range \(table has 2 hosts\)/ },
  { name: "dup-index", kind: "answer", reason: /invalid answer: kept\[1\] index 0 is given twice/ },
  { name: "huge-metadata", kind: "answer", reason: /invalid answer: meta_len 4097 exceeds MAX_META_BYTES 4096/ },
] as const;

const THRESHOLD = 3;
// Long enough that no retry happens during a test: the quarantine itself is what is asserted here
// (failure-quarantine.test.ts drives the backoff with an injected clock).
const QUARANTINE = { threshold: THRESHOLD, baseDelayMs: 600_000, maxDelayMs: 600_000 };

describe.each(ROUTE_FAILURES)("$name", ({ name, kind, reason }) => {
  describe.each(["open", "closed"] as const)("fail %s", (policy) => {
    let h: FailureHost;
    beforeAll(async () => {
      h = await startFailureHost({ fixtures: [{ name, policy }], examples: ["deny"], plugin: { quarantine: QUARANTINE } });
    });
    afterAll(async () => {
      await h?.close();
    });

    test("the client gets what the policy says, the log names plugin and reason, /plugins shows failure and quarantine", async () => {
      const expected = policy === "open" ? 200 : 503;
      // Below the threshold: every request calls the plugin, which fails each time.
      for (let i = 0; i < THRESHOLD; i++) {
        const r = await h.get("/");
        expect(r.status).toBe(expected);
        if (policy === "open") expect(JSON.parse(r.body.toString()).upstream).toMatch(/^up[01]$/);
        else expect(r.body.toString()).toContain(`plugin ${name} failed and its policy is fail-closed`);
      }
      const failed = h.pluginLogs("failed");
      expect(failed).toHaveLength(THRESHOLD);
      for (const line of failed) {
        expect(line).toMatchObject({ plugin: name, version: "1.0.0", kind, level: 40 });
        expect(String(line.err)).toMatch(reason);
      }
      const quarantined = h.pluginLogs("quarantined");
      expect(quarantined).toHaveLength(1);
      expect(quarantined[0]).toMatchObject({ plugin: name, version: "1.0.0", failures: THRESHOLD, level: 50 });

      const state = await h.plugin(name);
      expect(state).toMatchObject({ state: "quarantined", failurePolicy: policy, calls: THRESHOLD, failures: THRESHOLD, failuresByKind: { [kind]: THRESHOLD }, quarantines: 1 });

      // Quarantined: the policy applies without calling the plugin, so its counts stop rising.
      for (let i = 0; i < 5; i++) expect((await h.get("/")).status).toBe(expected);
      const after = await h.plugin(name);
      expect(after).toMatchObject({ state: "quarantined", calls: THRESHOLD, failures: THRESHOLD, quarantines: 1 });
      expect(h.pluginLogs("failed")).toHaveLength(THRESHOLD);

      // The rest of the chain still runs (open) or never runs (closed), and the host's access log says why.
      const denied = await h.get("/", { "x-client": "bad-bot" });
      expect(denied.status).toBe(policy === "open" ? 403 : 503);
      const deny = await h.plugin("deny");
      expect(deny).toMatchObject({ state: "ready", failures: 0 });
      expect(deny.calls).toBe(policy === "open" ? THRESHOLD + 5 + 1 : 0);
      const access = h.logs.filter((l) => l.msg === "request" && l.status === 503);
      if (policy === "closed") {
        expect(access.length).toBeGreaterThanOrEqual(THRESHOLD);
        expect(access[0]).toMatchObject({ plugin: name, reason: `E_PLUGIN_${kind.toUpperCase()}` });
        // The requests refused while quarantined say so, not the kind of the failures that led there.
        expect(access.slice(THRESHOLD).map((l) => l.reason)).toEqual(Array(6).fill("E_PLUGIN_QUARANTINED"));
      } else {
        expect(access).toHaveLength(0);
      }
    });
  });
});

describe("refused at load", () => {
  let h: FailureHost;
  beforeAll(async () => {
    h = await startFailureHost({
      fixtures: [{ name: "wrong-abi" }, { name: "missing-export" }, { name: "loop-configure", budget: { cpuMs: 2 } }],
      examples: ["deny"],
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  test("wrong-abi, missing-export and loop-configure are refused with their codes; the host serves with the rest", async () => {
    const refused = h.pluginLogs("refused");
    const byDir = Object.fromEntries(refused.map((l) => [String(l.dir).split("/").pop(), l]));
    expect(Object.keys(byDir).sort()).toEqual(["loop-configure", "missing-export", "wrong-abi"]);
    expect(byDir["wrong-abi"]).toMatchObject({ code: "E_BUNDLE_ABI_VERSION", level: 50 });
    expect(String(byDir["wrong-abi"]!.err)).toContain("bundle wrong-abi: sy_abi_version() returned 2, this host speaks ABI 1");
    expect(byDir["missing-export"]).toMatchObject({ code: "E_BUNDLE_MISSING_EXPORT" });
    expect(String(byDir["missing-export"]!.err)).toContain("bundle missing-export: missing required export(s): sy_route");
    expect(byDir["loop-configure"]).toMatchObject({ code: "E_PLUGIN_BUDGET" });
    expect(String(byDir["loop-configure"]!.err)).toMatch(/plugin loop-configure@1\.0\.0 failed \(budget\): configure: out of fuel/);

    const listed = await h.plugins();
    expect(listed.filter((p) => p.state !== "refused").map((p) => p.name)).toEqual(["deny"]);
    // GET /plugins lists the three refusals too, each with its code.
    const refusedListed = listed.filter((p) => p.state === "refused") as unknown as { name: string; code: string }[];
    expect(refusedListed.map((p) => [p.name, p.code]).sort()).toEqual([["loop-configure", "E_PLUGIN_BUDGET"], ["missing-export", "E_BUNDLE_MISSING_EXPORT"], ["wrong-abi", "E_BUNDLE_ABI_VERSION"]]);
    expect((await h.get("/")).status).toBe(200);
    expect((await h.get("/", { "x-client": "bad-bot" })).status).toBe(403);
  });
});

describe("loop-configure pushed", () => {
  let h: FailureHost;
  beforeAll(async () => {
    h = await startFailureHost({ fixtures: [{ name: "loop-configure", policy: "closed", budget: { cpuMs: 2 } }], examples: ["deny"] });
  });
  afterAll(async () => {
    await h?.close();
  });

  test("a pushed config whose configure loops is refused (budget) and the serving config stays", async () => {
    // Loaded with a config its configure accepts at once, then pushed one that loops.
    await editMetadata(join(h.pluginsDir, "loop-configure"), (m) => {
      m.defaultConfig = "noloop";
    });
    const scan = await h.host.watcher!.scan();
    expect(scan.loaded).toEqual(["loop-configure"]);
    expect((await h.plugin("loop-configure")).configVersion).toBe(0);
    expect((await h.get("/")).status).toBe(200);

    const t0 = performance.now();
    const r = await h.push("loop-configure", "{}");
    const ms = performance.now() - t0;
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "E_PLUGIN_BUDGET", plugin: "loop-configure", kind: "budget" });
    expect(String((r.body.error as { message: string }).message)).toMatch(/^plugin loop-configure@1\.0\.0 failed \(budget\): configure: out of fuel/);
    expect(ms).toBeLessThan(2_000);

    const p = await h.plugin("loop-configure");
    expect(p).toMatchObject({ configVersion: 0, state: "ready", failures: 0 });
    const cfg = await fetch(`${h.adminUrl}/plugins/loop-configure/config`);
    expect(await cfg.text()).toBe("noloop");
    expect((await h.get("/")).status).toBe(200);
    expect((await h.get("/", { "x-client": "bad-bot" })).status).toBe(403);
  });
});

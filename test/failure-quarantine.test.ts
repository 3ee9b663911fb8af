// Quarantine with backoff through a real SwitchyardHost, with the clock injected (PluginOptions.clock): after
// `threshold` consecutive failures the plugin's policy applies without calling it (its call count stops
// rising); after the delay a fresh instance is tried; a failing probe goes back in with twice the delay (up to
// the maximum); a succeeding one recovers; a config push or a new bundle lifts the quarantine.
//
// The echo fixture (fail closed) fails on demand: `x-echo-keep: 99` names a host that was not offered, so it
// aborts; `x-echo-verdict: accept` alone keeps every host and the request reaches an upstream.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { editMetadata, startFailureHost, type FailureHost } from "./fixtures/failure-host.js";

const QUARANTINE = { threshold: 3, baseDelayMs: 1000, maxDelayMs: 4000 };
const GOOD = { "x-echo-verdict": "accept" };
const BAD = { "x-echo-verdict": "accept", "x-echo-keep": "99" };

describe("quarantine with backoff", () => {
  let h: FailureHost;
  let now = 0;
  beforeAll(async () => {
    h = await startFailureHost({ fixtures: [{ name: "echo", policy: "closed" }], plugin: { quarantine: QUARANTINE, clock: () => now } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const status = async (headers: Record<string, string>) => (await h.get("/", headers)).status;
  const echo = () => h.plugin("echo");

  test("N failures quarantine; no calls while quarantined; the delay doubles up to the maximum; success recovers", async () => {
    expect(await status(GOOD)).toBe(200);
    for (let i = 0; i < 2; i++) expect(await status(BAD)).toBe(503);
    expect(await echo()).toMatchObject({ state: "ready", calls: 3, failures: 2, quarantines: 0 });
    expect(await status(BAD)).toBe(503);
    expect(await echo()).toMatchObject({ state: "quarantined", calls: 4, failures: 3, failuresByKind: { abort: 3 }, quarantines: 1 });
    const failed = h.pluginLogs("failed");
    expect(failed).toHaveLength(3);
    expect(String(failed[0]!.err)).toMatch(/^echo: x-echo-keep lists 99, which was not offered/);

    // Quarantined until 1000: fail closed without a call, even for a request the plugin would accept.
    now = 999;
    for (let i = 0; i < 4; i++) expect(await status(GOOD)).toBe(503);
    expect(await echo()).toMatchObject({ state: "quarantined", calls: 4 });

    // Each failing probe: back in with twice the delay, capped at maxDelayMs.
    let until = 1000;
    for (const delay of [2000, 4000, 4000]) {
      now = until;
      expect((await echo()).state).toBe("retrying");
      const before = await echo();
      expect(await status(BAD)).toBe(503);
      const after = await echo();
      expect(after).toMatchObject({ state: "quarantined", calls: before.calls + 1, failures: before.failures + 1, quarantines: before.quarantines + 1 });
      until += delay;
      now = until - 1;
      expect(await status(GOOD)).toBe(503);
      expect((await echo()).calls).toBe(after.calls);
    }
    const quarantined = h.pluginLogs("quarantined");
    expect(quarantined.map((l) => l.failures)).toEqual([3, 4, 5, 6]);
    for (const l of quarantined) expect(l).toMatchObject({ plugin: "echo", version: "1.0.0", level: 50 });

    // A succeeding probe: a fresh instance answers, the plugin is ready again, and the counts start over.
    now = until;
    expect(await status(GOOD)).toBe(200);
    expect(await echo()).toMatchObject({ state: "ready", failures: 6, quarantines: 4 });
    expect(h.pluginLogs("recovered")).toHaveLength(1);
    expect(h.pluginLogs("recovered")[0]).toMatchObject({ plugin: "echo", version: "1.0.0" });
    // After recovery one failure does not quarantine (the consecutive count was reset) ...
    expect(await status(BAD)).toBe(503);
    expect(await status(GOOD)).toBe(200);
    expect((await echo()).state).toBe("ready");
    // ... and the next quarantine starts again from the base delay.
    for (let i = 0; i < 3; i++) expect(await status(BAD)).toBe(503);
    expect((await echo()).state).toBe("quarantined");
    now += 999;
    expect((await echo()).state).toBe("quarantined");
    now += 1;
    expect((await echo()).state).toBe("retrying");
    expect(await status(GOOD)).toBe(200);
  });

  test("a config push lifts the quarantine", async () => {
    for (let i = 0; i < 3; i++) expect(await status(BAD)).toBe(503);
    expect(await status(GOOD)).toBe(503);
    const q = await echo();
    expect(q.state).toBe("quarantined");
    const pushed = await h.push("echo", "pushed");
    expect(pushed.status).toBe(200);
    const p = await echo();
    // The counts are the plugin name's, as the metrics keep them: a push lifts the quarantine, not the history.
    expect(p).toMatchObject({ state: "ready", configVersion: 1, calls: q.calls, failures: q.failures, quarantines: q.quarantines });
    expect(q.quarantines).toBeGreaterThan(0);
    expect(await status(GOOD)).toBe(200);
  });

  test("a new bundle lifts the quarantine", async () => {
    for (let i = 0; i < 3; i++) expect(await status(BAD)).toBe(503);
    const q = await echo();
    expect(q.state).toBe("quarantined");
    await editMetadata(join(h.pluginsDir, "echo"), (m) => {
      m.version = "1.0.1";
    });
    const scan = await h.host.watcher!.scan();
    expect(scan.loaded).toEqual(["echo"]);
    // The pushed config (persisted) is kept across the bundle swap; the quarantine is not.
    expect(await echo()).toMatchObject({ version: "1.0.1", state: "ready", configVersion: 1, failures: q.failures });
    expect(await status(GOOD)).toBe(200);
  });
});

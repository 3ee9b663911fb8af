import { describe, expect, it } from "vitest";
import { Cluster } from "../host/cluster/cluster.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { OutlierDetector } from "../host/cluster/outlier.js";
import type { HostSpec } from "../host/cluster/types.js";

const h = (address: string): HostSpec => ({ address, weight: 1, tags: {} });

function setup() {
  const clock = new ManualClock(1000);
  const cluster = new Cluster({ name: "api", hosts: [h("a:1"), h("b:1")] });
  const outliers = new OutlierDetector(cluster, { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 2500 }, clock);
  const a = cluster.snapshot().hosts[0]!;
  const fail = (n: number) => {
    for (let i = 0; i < n; i++) outliers.reportFailure(a);
  };
  return { clock, cluster, outliers, a, fail };
}

describe("outlier detection", () => {
  it("ejects after N consecutive failures, into the next snapshot, and brings the host back after the base time", () => {
    const { clock, cluster, outliers, a, fail } = setup();
    fail(2);
    expect(a.healthy).toBe(true);
    const v = cluster.snapshot().version;
    fail(1);
    expect(a.healthy).toBe(false);
    expect(outliers.isEjected(a)).toBe(true);
    expect(cluster.snapshot().version).toBe(v + 1);
    expect(cluster.snapshot().hosts[0]!.healthy).toBe(false);
    clock.advance(999);
    expect(a.healthy).toBe(false);
    clock.advance(1);
    expect(a.healthy).toBe(true);
    expect(cluster.snapshot().version).toBe(v + 2);
  });

  it("a success resets the count; failures while ejected do not extend the ejection", () => {
    const { clock, outliers, a, fail } = setup();
    fail(2);
    outliers.reportSuccess(a);
    fail(2);
    expect(a.healthy).toBe(true);
    fail(1);
    expect(a.healthy).toBe(false);
    fail(10);
    clock.advance(1000);
    expect(a.healthy).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it("ejects for base × ejections, capped at the maximum, and starts afresh after a long good spell", () => {
    const { clock, outliers, a, fail } = setup();
    const durations: number[] = [];
    for (let round = 0; round < 4; round++) {
      fail(3);
      const start = clock.now();
      for (let step = 0; step < 100 && !a.healthy; step++) clock.advance(100);
      durations.push(clock.now() - start);
    }
    expect(durations).toEqual([1000, 2000, 2500, 2500]);
    expect(outliers.ejections(a)).toBe(4);
    clock.advance(2500);
    fail(3);
    expect(outliers.ejections(a)).toBe(1);
  });

  it("forgets a host removed from the cluster, clearing its timer", () => {
    const { clock, cluster, outliers, a, fail } = setup();
    fail(3);
    expect(clock.pending).toBe(1);
    cluster.update([h("b:1")]);
    expect(clock.pending).toBe(0);
    outliers.reportFailure(a); // not in the cluster any more: ignored
    expect(outliers.isEjected(a)).toBe(false);
  });

  it("close brings ejected hosts back", () => {
    const { clock, outliers, a, fail } = setup();
    fail(3);
    outliers.close();
    expect(a.healthy).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it("refuses bad settings with E_OUTLIER_INVALID naming the field", () => {
    const cluster = new Cluster({ name: "api", hosts: [] });
    const clock = new ManualClock();
    for (const [settings, field] of [
      [{ consecutiveFailures: 0 }, "consecutiveFailures"],
      [{ baseEjectionMs: -1 }, "baseEjectionMs"],
      [{ baseEjectionMs: 10, maxEjectionMs: 5 }, "maxEjectionMs"],
    ] as const) {
      expect(() => new OutlierDetector(cluster, settings, clock)).toThrow(expect.objectContaining({ code: "E_OUTLIER_INVALID", field }) as Error);
    }
  });
});

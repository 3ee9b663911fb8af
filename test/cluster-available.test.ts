import { describe, expect, it } from "vitest";
import { waitForAvailable } from "../host/cluster/available.js";
import { systemClock } from "../host/cluster/clock.js";
import { Cluster } from "../host/cluster/cluster.js";
import { mutableHost } from "./helpers/mutable-host.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { HostStatus, type HostSpec } from "../host/cluster/types.js";

const h = (address: string): HostSpec => ({ address, weight: 1, tags: {} });

function downCluster() {
  const cluster = new Cluster({ name: "api", hosts: [h("a:1"), h("b:1")] });
  for (const host of cluster.snapshot().hosts) mutableHost(host).setStatus(HostStatus.Unavailable);
  return cluster;
}

describe("waitForAvailable", () => {
  it("resolves at once when a host is Available (new hosts start Available)", async () => {
    const cluster = new Cluster({ name: "api", hosts: [h("a:1")] });
    await expect(waitForAvailable(cluster, 0, new ManualClock())).resolves.toBe(cluster.snapshot().hosts[0]);
  });

  it("resolves when a host's status changes to Available, ignoring Connecting, and cleans up", async () => {
    const cluster = downCluster();
    const clock = new ManualClock();
    const waiting = waitForAvailable(cluster, 5000, clock);
    const b = mutableHost(cluster.snapshot().hosts[1]!);
    b.setStatus(HostStatus.Connecting);
    clock.advance(100);
    b.setStatus(HostStatus.Available);
    await expect(waiting).resolves.toBe(b);
    expect(clock.pending).toBe(0);
  });

  it("resolves when an update brings a new host", async () => {
    const cluster = downCluster();
    const clock = new ManualClock();
    const waiting = waitForAvailable(cluster, 5000, clock);
    cluster.update([h("a:1"), h("b:1"), h("c:1")]);
    await expect(waiting).resolves.toBe(cluster.host("c:1"));
    expect(clock.pending).toBe(0);
  });

  it("rejects with E_NO_AVAILABLE_HOST at the deadline, and at once when the deadline is past", async () => {
    const cluster = downCluster();
    const clock = new ManualClock(10_000);
    const waiting = waitForAvailable(cluster, 10_250, clock);
    clock.advance(249);
    let settled = false;
    waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    await Promise.resolve();
    expect(settled).toBe(false);
    clock.advance(1);
    await expect(waiting).rejects.toMatchObject({ code: "E_NO_AVAILABLE_HOST", message: expect.stringMatching(/cluster "api": no host became available within 250 ms/) });
    // A late status change after the timeout changes nothing.
    mutableHost(cluster.snapshot().hosts[0]!).setStatus(HostStatus.Available);
    await expect(waitForAvailable(downCluster(), 9_000, clock)).rejects.toMatchObject({ code: "E_NO_AVAILABLE_HOST" });
  });

  it("works on the real clock with a real timer", async () => {
    const cluster = downCluster();
    const started = performance.now();
    await expect(waitForAvailable(cluster, systemClock.now() + 30, systemClock)).rejects.toMatchObject({ code: "E_NO_AVAILABLE_HOST" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    setTimeout(() => mutableHost(cluster.snapshot().hosts[0]!).setStatus(HostStatus.Available), 10);
    await expect(waitForAvailable(cluster, systemClock.now() + 2000, systemClock)).resolves.toBe(cluster.snapshot().hosts[0]);
  });
});

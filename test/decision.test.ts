// The step after the route handlers (host/server/decision.ts), pure: the pipeline carries it out and explain
// shows it, so each branch is checked here on plain inputs, and explain is checked to say what the pipeline does.

import { describe, expect, it } from "vitest";
import { HostStatus, type ClusterSnapshot, type Host } from "../host/cluster/types.js";
import type { RouteAction } from "../host/config/types.js";
import { PluginFailure } from "../host/plugin/errors.js";
import { HandlerStatus, type HandlerResult } from "../host/route/handler.js";
import { deadlineOf, decideStopped } from "../host/server/decision.js";

const action = { timeoutMs: 1000, waitMaxCount: 3, failFast: false } as unknown as RouteAction;

function snapshot(statuses: HostStatus[]): ClusterSnapshot {
  const hosts: Host[] = statuses.map((status, i) => ({ address: `127.0.0.1:${20000 + i}`, hostname: undefined, weight: 1, healthy: true, tags: {}, status, pending: 0 }));
  return { cluster: "c", version: 1, id: 1, hosts };
}
const up = snapshot([HostStatus.Available]);
const down = snapshot([HostStatus.Unavailable, HostStatus.Unavailable]);
const empty = snapshot([]);
const at = (waits: number, elapsedMs: number, grpc = false) => ({ waits, elapsedMs, deadlineMs: 1000, grpc });

type Stopped = Exclude<HandlerResult, { status: HandlerStatus.Available }>;
const wait = (waitMs: number): Stopped => ({ status: HandlerStatus.Stop, reason: "wait", steps: [], verdict: { kind: "wait", waitMs, plugin: "drain" } });
const noHost: Stopped = { status: HandlerStatus.NotAvailable, reason: "no host left", steps: [] };

describe("decideStopped", () => {
  it("a Reject answers with the plugin's status, body and gRPC status", () => {
    const r: Stopped = { status: HandlerStatus.Stop, reason: "r", steps: [], verdict: { kind: "reject", status: 429, body: "slow down", grpcStatus: 8, plugin: "deny" } };
    expect(decideStopped(r, action, "c", up, at(0, 0))).toEqual({ kind: "answer", answer: { status: 429, body: "slow down", reason: null, plugin: "deny", grpcStatus: 8 } });
  });

  it("a Wait within bounds waits; past max_count or the deadline it answers 503 E_WAIT_EXHAUSTED", () => {
    expect(decideStopped(wait(100), action, "c", up, at(2, 500))).toEqual({ kind: "wait", waitMs: 100, plugin: "drain" });
    expect(decideStopped(wait(100), action, "c", up, at(3, 500))).toMatchObject({ kind: "answer", answer: { status: 503, reason: "E_WAIT_EXHAUSTED", body: "plugin drain asked to wait: still waiting after 3 waits (wait.max_count)", grpcStatus: undefined } });
    expect(decideStopped(wait(100), action, "c", up, at(0, 900))).toMatchObject({ kind: "answer", answer: { body: "plugin drain asked to wait: the wait would pass the route timeout", grpcStatus: undefined } });
    // A gRPC call whose deadline the wait would pass: DEADLINE_EXCEEDED (4); one out of waits is not past its deadline.
    expect(decideStopped(wait(100), action, "c", up, at(0, 900, true))).toMatchObject({ answer: { grpcStatus: 4 } });
    expect(decideStopped(wait(100), action, "c", up, at(3, 0, true))).toMatchObject({ answer: { grpcStatus: undefined } });
  });

  it("a plugin failed closed answers 503 with its failure's code", () => {
    const r: Stopped = { status: HandlerStatus.Stop, reason: "f", steps: [], failure: new PluginFailure("trap", "deny", "1.0.0", "unreachable") };
    expect(decideStopped(r, action, "c", up, at(0, 0))).toEqual({ kind: "answer", answer: { status: 503, body: "routing failed: plugin deny failed and its policy is fail-closed", reason: "E_PLUGIN_TRAP", plugin: "deny" } });
  });

  it("no host: 503 at once for an empty cluster or while hosts are available; a wait for one while all are down, within the deadline", () => {
    expect(decideStopped(noHost, action, "c", empty, at(0, 0))).toEqual({ kind: "answer", answer: { status: 503, body: "no host left; cluster c has no hosts", reason: "E_NO_HOST" } });
    expect(decideStopped(noHost, action, "c", up, at(0, 0))).toEqual({ kind: "answer", answer: { status: 503, body: "no host left", reason: "E_NO_HOST" } });
    expect(decideStopped(noHost, action, "c", down, at(0, 250))).toEqual({ kind: "await-host", remainingMs: 750 });
    expect(decideStopped(noHost, { ...action, failFast: true }, "c", down, at(0, 250))).toMatchObject({ kind: "answer" });
    expect(decideStopped(noHost, action, "c", down, { ...at(0, 0), deadlineMs: 0 })).toMatchObject({ kind: "answer" });
    expect(decideStopped(noHost, action, "c", undefined, at(0, 0))).toMatchObject({ kind: "answer", answer: { body: "no host left" } });
  });

  it("the deadline is the route timeout, or a gRPC call's shorter grpc-timeout", () => {
    expect(deadlineOf(action, false, "100m")).toBe(1000);
    expect(deadlineOf(action, true, "100m")).toBe(100);
    expect(deadlineOf(action, true, "5S")).toBe(1000);
    expect(deadlineOf({ ...action, timeoutMs: 0 } as RouteAction, true, "5S")).toBe(5000);
  });
});

import http from "node:http";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { HostStatus } from "../host/cluster/types.js";
import { send } from "./helpers/front.js";
import { type Harness, startHarness } from "./helpers/forwarder-harness.js";
import { refusingAddress, startUpstreams, type Upstreams, waitFor } from "./helpers/upstreams.js";

let ups: Upstreams | undefined;
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  await ups?.close();
  h = undefined;
  ups = undefined;
});

describe("failures", () => {
  it("answers 503 E_NO_HOST when the balancer has no host", async () => {
    h = await startHarness([]);
    const r = await send(h.front.url);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).error).toBe("E_NO_HOST");
    await waitFor("log", () => h!.logs.length === 1);
    expect(h.logs[0]).toMatchObject({ status: 503, reason: "E_NO_HOST", attempts: 0, upstream: null });
  });

  it("answers 503 E_UPSTREAM_CONNECT when the only host refuses connections, and marks it Unavailable", async () => {
    const dead = await refusingAddress();
    h = await startHarness([dead], { timeoutMs: 5_000, retry: { attempts: 3 } });
    const r = await send(h.front.url);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).error).toBe("E_UPSTREAM_CONNECT");
    await waitFor("outcome", () => h!.outcomes.length === 1);
    // One host, already failed: no second pick is possible.
    expect(h.outcomes[0]).toMatchObject({ status: 503, attempts: 1, upstream: dead });
    expect(h.hosts[0]!.statuses).toContain(HostStatus.Unavailable);
    expect(h.hosts[0]!.pending).toBe(0);
  });

  it("retries a refused connection on another host", async () => {
    ups = await startUpstreams(1);
    const dead = await refusingAddress();
    h = await startHarness([dead, ups.addresses[0]!], { timeoutMs: 5_000, retry: { attempts: 2 } });
    const r = await send(h.front.url, { method: "POST", body: "payload", headers: { "content-type": "text/plain" } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).upstream).toBe("up0");
    expect(ups.list[0]!.requests[0]!.bodyBytes).toBe(7); // the unread body went to the second host whole
    expect(h.picker.picks).toEqual([
      { host: dead, excluded: [] },
      { host: ups.addresses[0], excluded: [dead] },
    ]);
    await waitFor("outcome", () => h!.outcomes.length === 1);
    expect(h.outcomes[0]).toMatchObject({ status: 200, attempts: 2, upstream: ups.addresses[0], error: null });
  });

  it("does not retry a connect failure when the policy says so", async () => {
    ups = await startUpstreams(1);
    const dead = await refusingAddress();
    h = await startHarness([dead, ups.addresses[0]!], { timeoutMs: 5_000, retry: { attempts: 2, onConnectFailure: false } });
    const r = await send(h.front.url);
    expect(r.status).toBe(503);
    expect(ups.list[0]!.requests.length).toBe(0);
  });

  it("retries a retriable status on another host and drains the rejected answer", async () => {
    ups = await startUpstreams(3);
    ups.list[0]!.behaviour = { status: 503 };
    ups.list[1]!.behaviour = { status: 503 };
    h = await startHarness(ups.addresses, { timeoutMs: 5_000, retry: { attempts: 3, onStatuses: [503] } });
    const r = await send(h.front.url);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).upstream).toBe("up2");
    await waitFor("outcome", () => h!.outcomes.length === 1);
    expect(h.outcomes[0]!.attempts).toBe(3);
    expect(h.hosts.map((x) => x.pending)).toEqual([0, 0, 0]);
    // The drained 503s left their connections reusable.
    expect(ups.list[0]!.requests[0]!.completed).toBe(true);
  });

  it("sends the retriable status as is when attempts run out", async () => {
    ups = await startUpstreams(3, { status: 503 });
    h = await startHarness(ups.addresses, { timeoutMs: 5_000, retry: { attempts: 2, onStatuses: [503] } });
    const r = await send(h.front.url);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).upstream).toBe("up1");
    expect(ups.list[2]!.requests.length).toBe(0);
  });

  it("does not retry once the request body was consumed", async () => {
    ups = await startUpstreams(2, { status: 503 });
    h = await startHarness(ups.addresses, { timeoutMs: 5_000, retry: { attempts: 2, onStatuses: [503] } });
    const body = Buffer.alloc(256 * 1024, "b");
    const r = await send(h.front.url, { method: "POST", body, headers: { "content-type": "application/octet-stream" } });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).upstream).toBe("up0");
    expect(ups.list[0]!.requests[0]!.bodyBytes).toBe(body.length);
    expect(ups.list[1]!.requests.length).toBe(0);
    await waitFor("outcome", () => h!.outcomes.length === 1);
    expect(h.outcomes[0]!.attempts).toBe(1);
  });

  it("retries a reset before any response byte", async () => {
    ups = await startUpstreams(2);
    ups.list[0]!.behaviour = { resetBeforeResponse: true };
    h = await startHarness(ups.addresses, { timeoutMs: 5_000, retry: { attempts: 2 } });
    const r = await send(h.front.url);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).upstream).toBe("up1");
  });

  it("answers 502 E_UPSTREAM_RESET when the only host resets before answering", async () => {
    ups = await startUpstreams(1, { resetBeforeResponse: true });
    h = await startHarness(ups.addresses, { timeoutMs: 5_000 });
    const r = await send(h.front.url);
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body.toString()).error).toBe("E_UPSTREAM_RESET");
  });

  it("cuts the client connection when the upstream resets mid-response", async () => {
    ups = await startUpstreams(1, { resetAfterBytes: 100_000, chunkBytes: 10_000 });
    h = await startHarness(ups.addresses, { timeoutMs: 5_000 });
    const r = await send(h.front.url);
    expect(r.status).toBe(200);
    expect(r.complete).toBe(false);
    expect(r.body.length).toBeLessThan(Number(r.headers["content-length"]));
    await waitFor("outcome", () => h!.outcomes.length === 1);
    expect(h.outcomes[0]!.error?.code).toBe("E_UPSTREAM_RESET");
    expect(h.outcomes[0]!.status).toBe(0);
    await waitFor("log", () => h!.logs.length === 1);
    expect(h.logs[0]).toMatchObject({ level: 40, reason: "E_UPSTREAM_RESET" });
    expect(h.hosts[0]!.pending).toBe(0);
  });

  it("answers 504 within the route timeout when the upstream is slow, and aborts it", async () => {
    ups = await startUpstreams(1, { delayMs: 2_000 });
    h = await startHarness(ups.addresses, { timeoutMs: 200 });
    const t0 = performance.now();
    const r = await send(h.front.url);
    const took = performance.now() - t0;
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body.toString()).error).toBe("E_ROUTE_TIMEOUT");
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1_500);
    await waitFor("upstream saw its request closed", () => ups!.list[0]!.requests[0]?.aborted === true);
    await waitFor("pending released", () => h!.hosts[0]!.pending === 0);
  });

  it("retries an attempt that passes its per-try timeout", async () => {
    ups = await startUpstreams(2);
    ups.list[0]!.behaviour = { delayMs: 3_000 };
    h = await startHarness(ups.addresses, { timeoutMs: 5_000, retry: { attempts: 2, perTryTimeoutMs: 150 } });
    const t0 = performance.now();
    const r = await send(h.front.url);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).upstream).toBe("up1");
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it("cuts a response still streaming at the route deadline", async () => {
    ups = await startUpstreams(1, { bodyBytes: 1_000_000, chunkBytes: 10_000, chunkIntervalMs: 20 });
    h = await startHarness(ups.addresses, { timeoutMs: 300 });
    const r = await send(h.front.url);
    expect(r.status).toBe(200);
    expect(r.complete).toBe(false);
    await waitFor("outcome", () => h!.outcomes.length === 1);
    expect(h.outcomes[0]!.error?.code).toBe("E_ROUTE_TIMEOUT");
    await waitFor("upstream saw its request closed", () => ups!.list[0]!.requests[0]?.aborted === true);
  });

  it("aborts the upstream request when the client goes away while waiting", async () => {
    ups = await startUpstreams(1, { delayMs: 1_000 });
    h = await startHarness(ups.addresses, { timeoutMs: 5_000 });
    const req = http.request(`${h.front.url}/slow`, { agent: false });
    req.on("error", () => {});
    req.end();
    await waitFor("upstream got the request", () => ups!.list[0]!.requests.length === 1);
    req.destroy();
    await waitFor("upstream saw its request closed", () => ups!.list[0]!.requests[0]!.aborted);
    await waitFor("outcome", () => h!.outcomes.length === 1);
    expect(h.outcomes[0]!.error?.code).toBe("E_CLIENT_ABORTED");
    await waitFor("pending released", () => h!.hosts[0]!.pending === 0);
  });

  it("aborts the upstream request when the client goes away mid-upload", async () => {
    ups = await startUpstreams(1, { echo: true });
    h = await startHarness(ups.addresses, { timeoutMs: 5_000 });
    const req = http.request(`${h.front.url}/upload`, { method: "POST", agent: false, headers: { "content-length": "1000000" } });
    req.on("error", () => {});
    req.write(Buffer.alloc(10_000, "u"));
    await waitFor("upstream got some body", () => (ups!.list[0]!.requests[0]?.bodyBytes ?? 0) > 0);
    req.destroy();
    await waitFor("upstream saw its request closed", () => ups!.list[0]!.requests[0]!.aborted);
    await waitFor("outcome", () => h!.outcomes.length === 1);
    expect(h.outcomes[0]!.error).not.toBeNull();
    await waitFor("pending released", () => h!.hosts[0]!.pending === 0);
  });

  it("ends every request of a mixed failing load in an answer or a logged reason", async () => {
    ups = await startUpstreams(3);
    const dead = await refusingAddress();
    ups.list[0]!.behaviour = (req) => (req.url === "/reset" ? { resetAfterBytes: 1000, chunkBytes: 500 } : {});
    ups.list[1]!.behaviour = { status: 503 };
    h = await startHarness([...ups.addresses, dead], { timeoutMs: 2_000, retry: { attempts: 2, onStatuses: [503] } });
    const n = 40;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        send(h!.front.url, { path: i % 4 === 0 ? "/reset" : "/ok", body: i % 3 === 0 ? Readable.from([Buffer.from("x")]) : undefined, method: i % 3 === 0 ? "POST" : "GET" }).catch(
          (err: Error) => ({ status: -1, error: err.message }),
        ),
      ),
    );
    expect(results.length).toBe(n);
    await waitFor("all outcomes", () => h!.outcomes.length === n);
    await waitFor("all logged", () => h!.logs.length === n);
    for (const o of h.outcomes) {
      expect(o.status !== 0 || o.error !== null).toBe(true);
    }
    await waitFor("pending released", () => h!.hosts.every((x) => x.pending === 0));
  });
});

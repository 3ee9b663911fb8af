import http from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compileForwardPolicy } from "../host/proxy/policy.js";
import { send } from "./helpers/front.js";
import { type Harness, startHarness } from "./helpers/forwarder-harness.js";
import { startUpstreams, type Upstreams, waitFor } from "./helpers/upstreams.js";

let ups: Upstreams;
let h: Harness;

beforeEach(async () => {
  ups = await startUpstreams(3);
  h = await startHarness(ups.addresses, { timeoutMs: 5_000 }, { connections: 4 });
});

afterEach(async () => {
  await h.close();
  await ups.close();
});

describe("forwarding", () => {
  it("forwards GETs round robin and streams each upstream's answer back", async () => {
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await send(h.front.url, { path: `/hello?i=${i}` });
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("application/json");
      const body = JSON.parse(r.body.toString()) as { upstream: string; url: string; method: string };
      expect(body.url).toBe(`/hello?i=${i}`);
      expect(body.method).toBe("GET");
      names.push(body.upstream);
    }
    expect(names).toEqual(["up0", "up1", "up2", "up0", "up1", "up2"]);
    await waitFor("six outcomes", () => h.outcomes.length === 6);
    expect(h.hosts.map((x) => x.pending)).toEqual([0, 0, 0]);
    expect(h.hosts.map((x) => x.started)).toEqual([2, 2, 2]);
  });

  it("forwards a POST body and the upstream's status", async () => {
    ups.list[0]!.behaviour = { echo: true, status: 201 };
    const r = await send(h.front.url, { method: "POST", path: "/items", body: "name=switchyard", headers: { "content-type": "text/plain" } });
    expect(r.status).toBe(201);
    expect(r.body.toString()).toBe("name=switchyard");
    expect(ups.list[0]!.requests[0]!.headers["content-length"]).toBe("15");
    await waitFor("outcome", () => h.outcomes.length === 1);
    expect(h.outcomes[0]!.bytesIn).toBe(15);
    expect(h.outcomes[0]!.bytesOut).toBe(15);
  });

  it("forwards a chunked request body (no content-length) re-chunked", async () => {
    ups.list[0]!.behaviour = { echo: true };
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${h.front.url}/chunked`, { method: "PUT", agent: false }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.write("part1-");
      // The rest only once the upstream has the request: a body that has all arrived before the forwarder
      // dispatches has a known length, and undici then sends it with content-length instead of chunked.
      waitFor("the request at the upstream", () => ups.list[0]!.requests.length === 1, 10_000).then(() => req.end("part2"), reject);
    });
    expect(r).toEqual({ status: 200, body: "part1-part2" });
    expect(ups.list[0]!.requests[0]!.headers["transfer-encoding"]).toBe("chunked");
  });

  it("removes hop-by-hop headers both ways and sets X-Forwarded-*", async () => {
    ups.list[0]!.behaviour = {
      headers: { "keep-alive": "timeout=77", "x-secret-hop": "1", connection: "x-secret-hop", "x-kept": "yes", "set-cookie": ["a=1", "b=2"] },
    };
    const r = await send(h.front.url, {
      path: "/hdr",
      headers: [
        "Host", "shop.example",
        "Connection", "keep-alive, X-Custom-Hop",
        "Keep-Alive", "timeout=5",
        "X-Custom-Hop", "drop me",
        "Proxy-Authorization", "Basic Zm9vOmJhcg==",
        "TE", "trailers",
        "Upgrade", "websocket",
        "X-Forwarded-For", "127.203.113.9",
        "X-Forwarded-Proto", "https",
        "X-End-To-End", "keep me",
      ],
    });
    expect(r.status).toBe(200);
    const seen = ups.list[0]!.requests[0]!.headers;
    for (const name of ["keep-alive", "x-custom-hop", "proxy-authorization", "te", "upgrade"]) expect(seen[name], name).toBeUndefined();
    expect(seen.connection).toBe("keep-alive"); // undici's own, for its pooled connection
    expect(seen["x-end-to-end"]).toBe("keep me");
    expect(seen.host).toBe("shop.example");
    expect(seen["x-forwarded-for"]).toBe("127.203.113.9, 127.0.0.1");
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-forwarded-host"]).toBe("shop.example");
    // Upstream's hop-by-hop headers stay on its connection.
    expect(r.headers["keep-alive"]).not.toBe("timeout=77"); // Node's server may add its own
    expect(r.headers["x-secret-hop"]).toBeUndefined();
    expect(r.headers["x-kept"]).toBe("yes");
    expect(r.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
  });

  it("applies prefix rewrite, host rewrite and added headers", async () => {
    h.policy = compileForwardPolicy({
      timeoutMs: 5_000,
      prefixRewrite: { prefix: "/api/", replacement: "/v2/" },
      hostRewrite: "backend.internal",
      headersToAdd: [
        { name: "X-Route", value: "r1", append: false },
        { name: "X-Tag", value: "added", append: true },
      ],
    });
    const r = await send(h.front.url, { path: "/api/users?id=7", headers: { host: "public.example", "x-route": "client", "x-tag": "client" } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).url).toBe("/v2/users?id=7");
    const rec = ups.list[0]!.requests[0]!;
    expect(rec.headers.host).toBe("backend.internal");
    expect(rec.headers["x-forwarded-host"]).toBe("public.example");
    expect(rec.headers["x-route"]).toBe("r1");
    expect(rec.headers["x-tag"]).toBe("client, added");
  });

  it("reuses keep-alive connections: N requests open at most pool-size connections", async () => {
    const n = 60;
    const batch = 12;
    for (let i = 0; i < n; i += batch) {
      const rs = await Promise.all(Array.from({ length: batch }, () => send(h.front.url, { path: "/ka" })));
      for (const r of rs) expect(r.status).toBe(200);
    }
    const total = ups.list.reduce((s, u) => s + u.requests.length, 0);
    expect(total).toBe(n);
    for (const u of ups.list) {
      expect(u.requests.length).toBe(20);
      expect(u.connections).toBeGreaterThanOrEqual(1);
      expect(u.connections).toBeLessThanOrEqual(4); // connections: 4
    }
  });

  it("writes one access-log line per request with the caller's fields", async () => {
    await send(h.front.url, { path: "/logged" });
    await waitFor("log line", () => h.logs.length === 1);
    const line = h.logs[0]!;
    expect(line).toMatchObject({ msg: "request", method: "GET", path: "/logged", status: 200, upstream: ups.addresses[0], attempts: 1, route: "test" });
    expect(line.durationMs).toBeTypeOf("number");
    expect(line.bytesOut).toBeGreaterThan(0);
    expect(line.reason).toBeUndefined();
  });

  it("answers 400 to a request target that is not a path", async () => {
    const r = await send(h.front.url, { method: "OPTIONS", path: "*" });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body.toString()).error).toBe("E_REQUEST_INVALID");
    expect(ups.list.every((u) => u.requests.length === 0)).toBe(true);
  });

  it("forwards an absolute-form request target as its path", async () => {
    const r = await send(h.front.url, { path: "http://example.test/abs?q=1", headers: { host: "example.test" } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).url).toBe("/abs?q=1");
  });
});

describe("forwarding, edge cases", () => {
  it("answers 502 E_UPSTREAM_PROTOCOL to an upstream answer that does not parse", async () => {
    const net = await import("node:net");
    // A raw upstream sending a control character in a header value.
    const server = net.createServer((socket) => {
      socket.once("data", () => {
        socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Bad: a\u0001b\r\n\r\nok");
      });
    });
    server.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as { port: number }).port;
    const h2 = await startHarness([`127.0.0.1:${port}`]);
    try {
      const r = await send(h2.front.url);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body.toString()).error).toBe("E_UPSTREAM_PROTOCOL");
      await waitFor("outcome", () => h2.outcomes.length === 1);
      expect(h2.hosts[0]!.pending).toBe(0);
    } finally {
      await h2.close();
      await new Promise((r) => server.close(r));
    }
  });
});

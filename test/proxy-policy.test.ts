import { describe, expect, it } from "vitest";
import {
  ClientAbortedError,
  ForwardPolicyError,
  NoHostError,
  PROXY_ERROR_CODES,
  PoolOptionsError,
  PoolsClosedError,
  ProxyError,
  RequestInvalidError,
  RouteTimeoutError,
  UpstreamConnectError,
  UpstreamTlsError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from "../host/proxy/errors.js";
import { buildRequestHeaders, buildResponseHeaders, HAS_BODY } from "../host/proxy/headers.js";
import { compileForwardPolicy, type ForwardPolicySpec, MAX_ATTEMPTS } from "../host/proxy/policy.js";

describe("compileForwardPolicy", () => {
  it("fills defaults and freezes", () => {
    const p = compileForwardPolicy({ timeoutMs: 1000 });
    expect(p).toMatchObject({ timeoutMs: 1000, connectTimeoutMs: null, prefixRewrite: null, hostRewrite: null, headersToAdd: [] });
    expect(p.retry).toMatchObject({ attempts: 1, onConnectFailure: false, perTryTimeoutMs: null });
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.retry)).toBe(true);
  });

  it("keeps a full spec, lowercasing added header names", () => {
    const p = compileForwardPolicy({
      timeoutMs: 0,
      connectTimeoutMs: 250,
      retry: { attempts: 3, onStatuses: [503, 502], perTryTimeoutMs: 100 },
      prefixRewrite: { prefix: "/a", replacement: "" },
      hostRewrite: "b.internal:8080",
      headersToAdd: [{ name: "X-Env", value: "prod", append: false }],
    });
    expect(p.retry.attempts).toBe(3);
    expect(p.retry.onConnectFailure).toBe(true);
    expect([...p.retry.onStatuses]).toEqual([503, 502]);
    expect(p.headersToAdd).toEqual([{ name: "x-env", value: "prod", append: false }]);
    expect([...p.replaced]).toEqual(["x-env"]);
  });

  const bad: [string, ForwardPolicySpec, string][] = [
    ["negative timeout", { timeoutMs: -1 }, "r.timeoutMs"],
    ["NaN timeout", { timeoutMs: Number.NaN }, "r.timeoutMs"],
    ["zero connect timeout", { timeoutMs: 1, connectTimeoutMs: 0 }, "r.connectTimeoutMs"],
    ["zero attempts", { timeoutMs: 1, retry: { attempts: 0 } }, "r.retry.attempts"],
    ["too many attempts", { timeoutMs: 1, retry: { attempts: MAX_ATTEMPTS + 1 } }, "r.retry.attempts"],
    ["fractional attempts", { timeoutMs: 1, retry: { attempts: 1.5 } }, "r.retry.attempts"],
    ["bad status", { timeoutMs: 1, retry: { attempts: 2, onStatuses: [503, 42] } }, "r.retry.onStatuses[1]"],
    ["bad per-try", { timeoutMs: 1, retry: { attempts: 2, perTryTimeoutMs: -5 } }, "r.retry.perTryTimeoutMs"],
    ["relative prefix", { timeoutMs: 1, prefixRewrite: { prefix: "api", replacement: "/" } }, "r.prefixRewrite.prefix"],
    ["spaced replacement", { timeoutMs: 1, prefixRewrite: { prefix: "/a", replacement: "/b c" } }, "r.prefixRewrite.replacement"],
    ["empty host rewrite", { timeoutMs: 1, hostRewrite: "" }, "r.hostRewrite"],
    ["host header added", { timeoutMs: 1, headersToAdd: [{ name: "Host", value: "x", append: true }] }, "r.headersToAdd[0].name"],
    ["hop-by-hop added", { timeoutMs: 1, headersToAdd: [{ name: "x-ok", value: "1", append: true }, { name: "Connection", value: "close", append: true }] }, "r.headersToAdd[1].name"],
    ["bad header name", { timeoutMs: 1, headersToAdd: [{ name: "x y", value: "1", append: true }] }, "r.headersToAdd[0].name"],
    ["CRLF in value", { timeoutMs: 1, headersToAdd: [{ name: "x-a", value: "1\r\nx-b: 2", append: true }] }, "r.headersToAdd[0].value"],
  ];
  for (const [what, spec, where] of bad) {
    it(`refuses ${what}, naming ${where}`, () => {
      try {
        compileForwardPolicy(spec, "r");
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ForwardPolicyError);
        expect((err as ForwardPolicyError).code).toBe("E_FORWARD_POLICY_INVALID");
        expect((err as ForwardPolicyError).where).toBe(where);
        expect((err as Error).message.startsWith(`${where}: `)).toBe(true);
      }
    });
  }
});

describe("headers", () => {
  const rules = compileForwardPolicy({ timeoutMs: 1 });

  it("detects a body from Content-Length or Transfer-Encoding", () => {
    expect(buildRequestHeaders(["Content-Length", "5"], "1.2.3.4", "http", rules, []) & HAS_BODY).toBe(HAS_BODY);
    expect(buildRequestHeaders(["Content-Length", "0"], "1.2.3.4", "http", rules, []) & HAS_BODY).toBe(0);
    expect(buildRequestHeaders(["Transfer-Encoding", "chunked"], "1.2.3.4", "http", rules, []) & HAS_BODY).toBe(HAS_BODY);
    expect(buildRequestHeaders(["Accept", "*/*"], "1.2.3.4", "http", rules, []) & HAS_BODY).toBe(0);
  });

  it("merges repeated X-Forwarded-For and drops headers named by Connection", () => {
    const out: string[] = [];
    buildRequestHeaders(
      ["Host", "h", "X-Forwarded-For", "127.1.1.1", "x-forwarded-for", "127.2.2.2", "Connection", "close, X-A", "X-A", "1", "X-B", "2", "Proxy-Connection", "keep-alive"],
      "127.9.9.9",
      "https",
      rules,
      out,
    );
    expect(out).toEqual(["X-B", "2", "host", "h", "x-forwarded-for", "127.1.1.1, 127.2.2.2, 127.9.9.9", "x-forwarded-proto", "https", "x-forwarded-host", "h"]);
  });

  it("filters hop-by-hop response headers and keeps repeats", () => {
    const raw = ["Content-Type", "text/plain", "Transfer-Encoding", "chunked", "Connection", "X-Gone", "X-Gone", "1", "Set-Cookie", "a", "Set-Cookie", "b", "Proxy-Authenticate", "Basic"].map((s) =>
      Buffer.from(s, "latin1"),
    );
    const out: string[] = [];
    buildResponseHeaders(raw, out);
    expect(out).toEqual(["Content-Type", "text/plain", "Set-Cookie", "a", "Set-Cookie", "b"]);
  });
});

describe("errors", () => {
  const cause = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  const all: [ProxyError, string, number][] = [
    [new ForwardPolicyError("routes[0].retry", "must be an object"), "E_FORWARD_POLICY_INVALID", 0],
    [new NoHostError(0), "E_NO_HOST", 503],
    [new UpstreamConnectError("127.0.10.1:80", { cause }), "E_UPSTREAM_CONNECT", 503],
    [new UpstreamTlsError("127.0.0.1:443", { cause: Object.assign(new Error("unable to verify the first certificate"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }) }), "E_UPSTREAM_TLS", 503],
    [new UpstreamResetError("127.0.10.1:80", false), "E_UPSTREAM_RESET", 502],
    [new UpstreamResetError("127.0.10.1:80", true), "E_UPSTREAM_RESET", 0],
    [new UpstreamTimeoutError("127.0.10.1:80", 100), "E_UPSTREAM_TIMEOUT", 504],
    [new RouteTimeoutError(100, false), "E_ROUTE_TIMEOUT", 504],
    [new UpstreamProtocolError("127.0.10.1:80", false), "E_UPSTREAM_PROTOCOL", 502],
    [new ClientAbortedError(), "E_CLIENT_ABORTED", 0],
    [new PoolsClosedError("127.0.10.1:80"), "E_POOLS_CLOSED", 503],
    [new RequestInvalidError("bad"), "E_REQUEST_INVALID", 400],
    [new PoolOptionsError("pools.connections", "must be > 0"), "E_POOL_OPTIONS_INVALID", 0],
  ];

  it("covers every code", () => {
    expect(new Set(all.map(([, code]) => code))).toEqual(new Set(PROXY_ERROR_CODES));
  });

  for (const [err, code, status] of all) {
    it(`${err.name} has code ${code}, status ${status} and says what`, () => {
      expect(err).toBeInstanceOf(ProxyError);
      expect(err.code).toBe(code);
      expect(err.status).toBe(status);
      expect(err.name).toBe(err.constructor.name);
      expect(err.message.length).toBeGreaterThan(10);
    });
  }

  it("names the cause's code in the message", () => {
    expect(new UpstreamConnectError("127.0.10.1:80", { cause }).message).toBe("cannot connect to upstream 127.0.10.1:80: ECONNREFUSED connect ECONNREFUSED");
  });
});

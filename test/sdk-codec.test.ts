// The SDK's decoding of requests and host tables and its encoding of answers, checked through real wasm:
// the echo fixture dumps what it decoded (format documented in test/fixtures/echo/assembly/index.ts) and
// sdk-probe answers with what Request / Hosts / Result computed.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadBundle, type HostSpec, type TestPlugin } from "../sdk/harness/index.js";
import { buildBundles, type Built } from "./fixtures/bundles.js";

let built: Built;
let echo: TestPlugin;
let probe: TestPlugin;

beforeAll(async () => {
  built = await buildBundles(["test/fixtures/echo", "test/fixtures/sdk-probe"], false);
  echo = await loadBundle(built.dirs["echo"]!);
  probe = await loadBundle(built.dirs["sdk-probe"]!);
}, 60_000);

afterAll(async () => {
  await built?.cleanup();
});

const hosts: HostSpec[] = [
  { address: "127.0.10.1:80", weight: 1, tags: { version: "v1", zone: "a" } },
  { address: "[::1]:8080", weight: 7, tags: { version: "v2", "zöne": "ä\"\\\n" } },
  { address: "backend.local:443", weight: 1000000, tags: {}, healthy: false },
  { address: "127.0.10.4:80", weight: 0, tags: { version: "v1", zone: "b" } },
];

function expectedDump(req: { method: string; path: string; authority: string; headers: [string, string][] }, offered: number[], from: number, to: number): string {
  const shown = offered.slice(from, to).map((index) => {
    const h = hosts[index]!;
    return { index, address: h.address, weight: h.weight, healthy: h.healthy ?? true, tags: Object.entries(h.tags) };
  });
  return JSON.stringify({ method: req.method, path: req.path, authority: req.authority, headers: req.headers, offered: offered.length, hosts: shown });
}

describe("request and host table decoding (echo)", () => {
  it("round-trips method, path, authority, repeated headers in order, and every host field", () => {
    const headers: [string, string][] = [
      ["x-a", "1"],
      ["x-b", "tab\there \"quoted\" back\\slash"],
      ["x-a", "ünïcödé 中文 😀"],
      ["x-echo-hosts", "0:10"],
    ];
    const req = { method: "PATCH", path: "/a/b?c=d&e=%20", authority: "example.com:8443", headers };
    const r = echo.route(req, hosts);
    expect(r.verdict).toBe("reject");
    expect(r.status).toBe(200);
    expect(r.body).toBe(expectedDump(req, [0, 1, 2, 3], 0, 4));
  });

  it("dumps only the offered hosts of a subset, and only the asked range", () => {
    const req = { method: "GET", path: "/", authority: "h", headers: [["x-echo-hosts", "1:2"]] as [string, string][] };
    expect(echo.route(req, hosts, [1, 3]).body).toBe(expectedDump(req, [1, 3], 1, 2));
    const none = { method: "GET", path: "/", authority: "h", headers: [] as [string, string][] };
    expect(echo.route(none, hosts, [0, 2]).body).toBe(expectedDump(none, [0, 2], 0, 0));
  });

  it("handles a 10,000-host table, dumping a window of it", () => {
    const big: HostSpec[] = Array.from({ length: 10_000 }, (_, i) => ({ address: `10.1.${i >> 8}.${i & 255}:80`, weight: 1 + (i % 5), tags: { zone: `z${i % 3}` }, healthy: i % 7 !== 0 }));
    const r = echo.route({ headers: [["x-echo-hosts", "9998:20000"]] }, big);
    const body = JSON.parse(r.body!);
    expect(body.offered).toBe(10_000);
    expect(body.hosts).toEqual([9998, 9999].map((i) => ({ index: i, address: big[i]!.address, weight: big[i]!.weight, healthy: big[i]!.healthy, tags: [["zone", `z${i % 3}`]] })));
  });
});

describe("answer encoding (echo accept mode)", () => {
  // After a failure the harness starts a fresh, unconfigured instance (as the host never reuses one).
  beforeEach(() => {
    expect(echo.configure()).toEqual({ ok: true });
  });

  it("keeps listed indices in table order, once each, with metadata pairs", () => {
    const r = echo.route({ headers: [["x-echo-verdict", "accept"], ["x-echo-keep", "3,0,3"], ["x-echo-meta", "version=v1"], ["x-echo-meta", "zöne=ä"]] }, hosts);
    expect(r).toEqual({ verdict: "accept", kept: [0, 3], keptAddresses: ["127.0.10.1:80", "127.0.10.4:80"], metadata: { version: "v1", "zöne": "ä" } });
  });

  it("answers kept = all by default and none on request", () => {
    expect(echo.route({ headers: [["x-echo-verdict", "accept"]] }, hosts, [1, 2]).kept).toEqual([1, 2]);
    expect(echo.route({ headers: [["x-echo-verdict", "accept"], ["x-echo-keep", "none"]] }, hosts).kept).toEqual([]);
  });

  it("encodes WAIT and REJECT with their arguments", () => {
    expect(echo.route({ headers: [["x-echo-verdict", "wait:1234"]] }, hosts)).toMatchObject({ verdict: "wait", waitMs: 1234 });
    expect(echo.route({ headers: [["x-echo-verdict", "reject:503"]] }, hosts)).toMatchObject({ verdict: "reject", status: 503 });
  });

  it("aborts with a clear message when keeping a host that was not offered", () => {
    expect(() => echo.route({ headers: [["x-echo-verdict", "accept"], ["x-echo-keep", "2"]] }, hosts, [0, 1])).toThrow(/x-echo-keep lists 2, which was not offered/);
  });

  it("aborts when metadata exceeds MAX_META_PAIRS, naming the limit", () => {
    const meta: [string, string][] = Array.from({ length: 33 }, (_, i) => ["x-echo-meta", `k${i}=v`]);
    expect(() => echo.route({ headers: [["x-echo-verdict", "accept"], ...meta] }, hosts)).toThrow(/more than MAX_META_PAIRS \(32\) pairs, adding key "k32"/);
  });

  it("aborts when metadata exceeds MAX_META_BYTES, naming the limit", () => {
    const meta: [string, string][] = Array.from({ length: 2 }, (_, i) => ["x-echo-meta", `k${i}=${"v".repeat(2100)}`]);
    expect(() => echo.route({ headers: [["x-echo-verdict", "accept"], ...meta] }, hosts)).toThrow(/exceeds MAX_META_BYTES \(4096\), adding key "k1"/);
  });

  it("aborts on a WAIT outside 1..MAX_WAIT_MS and a REJECT status outside 200..599", () => {
    expect(() => echo.route({ headers: [["x-echo-verdict", "wait:0"]] }, hosts)).toThrow(/Result.wait: 0 ms is not in 1..60000/);
    echo.configure();
    expect(() => echo.route({ headers: [["x-echo-verdict", "reject:600"]] }, hosts)).toThrow(/Result.reject: status 600 is not in 200..599/);
  });
});

describe("Request, Hosts and Result (sdk-probe)", () => {
  const body = (headers: [string, string][], offered?: number[]) => probe.route({ headers }, hosts, offered).body;

  it("looks headers up case-insensitively, first value or all values", () => {
    const h: [string, string][] = [["x-probe", "header:X-Multi"], ["x-multi", "one"], ["x-multi", "two"]];
    expect(body(h)).toBe("one");
    expect(body([["x-probe", "all:X-MULTI"], ["x-multi", "one"], ["x-multi", "two"]])).toBe("one|two");
    expect(body([["x-probe", "header:x-absent"]])).toBe("<null>");
    expect(body([["x-probe", "all:x-absent"]])).toBe("");
    expect(body([["x-probe", "count"], ["a", "1"], ["b", "2"]])).toBe("3");
  });

  it("finds tagged hosts within the offered subset only", () => {
    expect(body([["x-probe", "tag:version=v1"]])).toBe("0,3");
    expect(body([["x-probe", "tag:version=v1"]], [1, 2, 3])).toBe("3");
    expect(body([["x-probe", "tag:zöne=ä\"\\\n"]])).toBe("1");
    // Host.tag and Host.hasTag (through withoutTag) read one host's own tags.
    expect(body([["x-probe", "hosttag:1:zöne"]])).toBe("ä\"\\\n");
    expect(body([["x-probe", "hosttag:0:zone"]])).toBe("a");
    expect(body([["x-probe", "hosttag:2:version"]])).toBe("<null>");
    expect(body([["x-probe", "without:version=v1"]])).toBe("1,2");
    expect(body([["x-probe", "without:zone=b"]], [0, 1, 3])).toBe("0,1");
    expect(body([["x-probe", "tag:version=v9"]])).toBe("");
  });

  it("counts healthy offered hosts", () => {
    expect(body([["x-probe", "healthy"]])).toBe("3");
    expect(body([["x-probe", "healthy"]], [1, 2])).toBe("1");
  });

  it("keep/drop: repeated keeps count once, a drop removes, the answer is in table order", () => {
    expect(probe.route({ headers: [["x-probe", "keepdrop"]] }, hosts).kept).toEqual([2]);
    expect(probe.route({ headers: [["x-probe", "keepdrop"]] }, hosts, [0, 1, 3]).kept).toEqual([3]);
  });

  it("a table reloaded with other hosts answers over the new table", () => {
    const other: HostSpec[] = [{ address: "127.1.1.1:1", weight: 1, tags: { version: "v1" } }];
    expect(probe.route({ headers: [["x-probe", "tag:version=v1"]] }, other).body).toBe("0");
    expect(probe.route({ headers: [["x-probe", "tag:version=v1"]] }, hosts).body).toBe("0,3");
  });
});

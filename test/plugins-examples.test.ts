// The five example plugins, built by `switchyard build` and run as real wasm through the plugin harness.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBundle, type HostSpec, type TestPlugin } from "../sdk/harness/index.js";
import { buildBundles, type Built } from "./fixtures/bundles.js";
import { seeded } from "./helpers/random.js";

let built: Built;
const plugins: Record<string, TestPlugin> = {};

beforeAll(async () => {
  built = await buildBundles(["plugins/header-canary", "plugins/zone-affinity", "plugins/version-split", "plugins/deny", "plugins/drain"]);
  for (const [name, dir] of Object.entries(built.dirs)) plugins[name] = await loadBundle(dir);
}, 120_000);

afterAll(async () => {
  await built?.cleanup();
});

const hosts: HostSpec[] = [
  { address: "127.0.10.1:80", weight: 1, tags: { version: "v1", zone: "a" } },
  { address: "127.0.10.2:80", weight: 1, tags: { version: "canary", zone: "a" } },
  { address: "127.0.10.3:80", weight: 1, tags: { version: "v2", zone: "b" } },
  { address: "127.0.10.4:80", weight: 1, tags: { version: "v1", zone: "b" }, healthy: false },
  { address: "127.0.10.5:80", weight: 1, tags: { version: "canary", zone: "c" } },
  { address: "127.0.10.6:80", weight: 1, tags: { version: "v2", zone: "c" } },
];

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

describe("bundle identity", () => {
  it("each plugin reports the name and order of the brief", () => {
    const got = Object.values(plugins).map((p) => [p.name, p.order]);
    expect(got.sort((a, b) => (a[1] as number) - (b[1] as number))).toEqual([
      ["drain", 1],
      ["deny", 5],
      ["header-canary", 10],
      ["zone-affinity", 20],
      ["version-split", 30],
    ]);
  });
});

describe("header-canary", () => {
  const p = () => plugins["header-canary"]!;

  it("sends a matching request to the canary hosts only, with metadata version=canary", () => {
    p().configure();
    for (const v of ["1", "true"]) {
      const r = p().route({ headers: { "x-canary": v } }, hosts);
      expect(r).toMatchObject({ verdict: "accept", kept: [1, 4], metadata: { version: "canary" } });
    }
  });

  it("sends other requests to the hosts not tagged canary", () => {
    expect(p().route({ headers: { "x-canary": "0" } }, hosts).kept).toEqual([0, 2, 3, 5]);
    expect(p().route({ headers: {} }, hosts).kept).toEqual([0, 2, 3, 5]);
  });

  it("only chooses among the hosts it is offered", () => {
    expect(p().route({ headers: { "x-canary": "1" } }, hosts, [0, 1, 2]).kept).toEqual([1]);
    expect(p().route({ headers: { "x-canary": "1" } }, hosts, [0, 2]).kept).toEqual([]);
    expect(p().route({ headers: {} }, hosts, [1, 2, 4, 5]).kept).toEqual([2, 5]);
  });

  it('with "others":"all" leaves other requests alone', () => {
    expect(p().configure('{"header":"X-Canary","values":["yes"],"others":"all"}')).toEqual({ ok: true });
    expect(p().route({ headers: { "x-canary": "1" } }, hosts).kept).toEqual([0, 1, 2, 3, 4, 5]);
    expect(p().route({ headers: { "x-canary": "yes" } }, hosts).kept).toEqual([1, 4]);
    p().configure();
  });

  it.each([
    ["{}", 'config field "header": required, expected a non-empty string'],
    ['{"header":"x-canary"}', 'config field "values": required, expected an array of strings'],
    ['{"header":"x-canary","values":[1]}', 'config field "values[0]": expected a string, got number'],
    ['{"header":"x-canary","values":[]}', 'config field "values": expected a non-empty array of strings, got []'],
    ['{"header":"x-canary","values":["1"],"others":"some"}', 'config field "others": expected "non-canary" or "all", got "some"'],
    ['{"header":"x-canary","values":["1"],"tagvalue":"c"}', 'config field "tagvalue": unknown; expected one of header, values, tag, tagValue, others'],
    ['{"header":"x-canary",', "config is not valid JSON: expected a member name string, got end of input at byte 21"],
    ["[1]", "config: expected a JSON object, got array"],
  ])("rejects %s", (config, message) => {
    expect(p().configure(config)).toEqual({ ok: false, message });
    // The old config stays in force.
    expect(p().route({ headers: { "x-canary": "1" } }, hosts).kept).toEqual([1, 4]);
  });
});

describe("zone-affinity", () => {
  const p = () => plugins["zone-affinity"]!;

  it("keeps the request's zone while it has minHealthy healthy hosts", () => {
    p().configure();
    expect(p().route({ headers: { "x-zone": "a" } }, hosts).kept).toEqual([0, 1]);
    expect(p().route({ headers: { "x-zone": "c" } }, hosts).kept).toEqual([4, 5]);
  });

  it("keeps every host when the zone has too few healthy hosts, is unknown, or is not given", () => {
    expect(p().route({ headers: { "x-zone": "b" } }, hosts).kept).toEqual([0, 1, 2, 3, 4, 5]);
    expect(p().route({ headers: { "x-zone": "z" } }, hosts).kept).toEqual([0, 1, 2, 3, 4, 5]);
    expect(p().route({ headers: {} }, hosts).kept).toEqual([0, 1, 2, 3, 4, 5]);
    expect(p().route({ headers: { "x-zone": "a" } }, hosts, [0, 2, 3]).kept).toEqual([0, 2, 3]);
  });

  it("counts only offered hosts, and follows a pushed minHealthy", () => {
    expect(p().configure('{"header":"x-zone","minHealthy":1}')).toEqual({ ok: true });
    expect(p().route({ headers: { "x-zone": "b" } }, hosts).kept).toEqual([2, 3]);
    expect(p().route({ headers: { "x-zone": "a" } }, hosts, [0, 2, 3]).kept).toEqual([0]);
    p().configure();
  });

  it("keeps the right zone over many zones in any order: the SDK's header interning and tag lookup caches never mix values up", () => {
    // More zones than the SDK keeps interned header values (8) and tag lookups (8), of equal byte length,
    // non-ASCII among them ("é" is two bytes, like "e1"), and across two tables.
    const zones = ["e1", "e2", "é", "f1", "f2", "g1", "g2", "h1", "h2", "i1", "i2", "j1", "ö", "k1"];
    const many: HostSpec[] = zones.flatMap((z, i) => [
      { address: `10.1.${i}.1:80`, weight: 1, tags: { zone: z } },
      { address: `10.1.${i}.2:80`, weight: 1, tags: { zone: z } },
    ]);
    const rand = seeded(11);
    for (const table of [many, [...many].reverse()]) {
      for (let r = 0; r < 400; r++) {
        const zone = rand() < 0.1 ? "zz" : zones[Math.floor(rand() * zones.length)]!;
        const want = table.flatMap((h, i) => (h.tags!.zone === zone ? [i] : []));
        const kept = p().route({ headers: { "x-zone": zone } }, table).kept;
        expect([zone, kept]).toEqual([zone, want.length > 0 ? want : table.map((_, i) => i)]);
      }
    }
  });

  it.each([
    ['{"header":"x-zone","minHealthy":0}', 'config field "minHealthy": expected an integer in 1..65536, got 0'],
    ['{"header":"x-zone","minHealthy":1.5}', 'config field "minHealthy": expected an integer in 1..65536, got 1.5'],
    ['{"header":"x-zone","minHealthy":"2"}', 'config field "minHealthy": expected an integer in 1..65536, got string'],
    ['{"header":""}', 'config field "header": expected a non-empty string, got ""'],
  ])("rejects %s", (config, message) => {
    expect(p().configure(config)).toEqual({ ok: false, message });
  });
});

describe("version-split", () => {
  const p = () => plugins["version-split"]!;

  it("splits users by FNV-1a mod 100 < percent, sticky, with metadata", () => {
    p().configure();
    let toV2 = 0;
    for (let i = 0; i < 200; i++) {
      const user = `user-${i}`;
      const expected = fnv1a32(user) % 100 < 20 ? "v2" : "v1";
      const r = p().route({ headers: { "x-user": user } }, hosts);
      expect([user, r.kept, r.metadata]).toEqual([user, expected === "v2" ? [2, 5] : [0, 3], { version: expected }]);
      expect(p().route({ headers: { "x-user": user } }, hosts).kept).toEqual(r.kept);
      if (expected === "v2") toV2++;
    }
    // 200 users at 20%: the split is near 40, not all on one side.
    expect(toV2).toBeGreaterThan(20);
    expect(toV2).toBeLessThan(60);
  });

  it("leaves an offer holding neither version as it is (an earlier plugin chose the canary)", () => {
    p().configure();
    const canaryOnly = hosts.flatMap((h, i) => (h.tags.version === "canary" ? [i] : []));
    expect(canaryOnly.length).toBeGreaterThan(0);
    const r = p().route({ headers: { "x-user": "user-1" } }, hosts, canaryOnly);
    expect([r.verdict, r.kept, r.metadata]).toEqual(["accept", canaryOnly, {}]);
  });

  it("hashes the UTF-8 bytes of the header value", () => {
    const user = "ユーザー-ü";
    const expected = fnv1a32(user) % 100 < 20 ? [2, 5] : [0, 3];
    expect(p().route({ headers: { "x-user": user } }, hosts).kept).toEqual(expected);
  });

  it("sends requests without the header to `from`, and honours 0 and 100 percent", () => {
    expect(p().route({ headers: {} }, hosts).kept).toEqual([0, 3]);
    p().configure('{"header":"x-user","percent":100,"from":"v1","to":"v2"}');
    expect(p().route({ headers: { "x-user": "anyone" } }, hosts).kept).toEqual([2, 5]);
    p().configure('{"header":"x-user","percent":0,"from":"v1","to":"v2"}');
    expect(p().route({ headers: { "x-user": "anyone" } }, hosts).kept).toEqual([0, 3]);
    p().configure();
  });

  it.each([
    ['{"header":"x-user","percent":101,"from":"v1","to":"v2"}', 'config field "percent": expected an integer in 0..100, got 101'],
    ['{"header":"x-user","from":"v1","to":"v2"}', 'config field "percent": required, expected an integer in 0..100'],
    ['{"header":"x-user","percent":5,"from":"v1","to":"v1"}', 'config fields "from" and "to": expected two different versions, both are "v1"'],
    ['{"header":"x-user","percent":5,"from":"v1"}', 'config field "to": required, expected a non-empty string'],
  ])("rejects %s", (config, message) => {
    expect(p().configure(config)).toEqual({ ok: false, message });
  });
});

describe("deny", () => {
  const p = () => plugins["deny"]!;

  it("rejects denied clients with the configured status and body, in any occurrence", () => {
    p().configure();
    expect(p().route({ headers: { "x-client": "bad-bot" } }, hosts)).toMatchObject({ verdict: "reject", status: 403, body: "denied" });
    expect(p().route({ headers: [["x-client", "good"], ["x-client", "bad-bot"]] }, hosts)).toMatchObject({ verdict: "reject", status: 403 });
  });

  it("lets other requests through untouched", () => {
    expect(p().route({ headers: { "x-client": "good" } }, hosts)).toMatchObject({ verdict: "accept", kept: [0, 1, 2, 3, 4, 5] });
    expect(p().route({ headers: {} }, hosts)).toMatchObject({ verdict: "accept", kept: [0, 1, 2, 3, 4, 5] });
  });

  it("uses a pushed status and UTF-8 body", () => {
    expect(p().configure('{"header":"x-client","values":["x"],"status":429,"body":"slow down – ✋"}')).toEqual({ ok: true });
    expect(p().route({ headers: { "x-client": "x" } }, hosts)).toMatchObject({ verdict: "reject", status: 429, body: "slow down – ✋" });
    p().configure();
  });

  it("names a gRPC status with grpc_status (Result.rejectGrpc), the HTTP status staying the configured one", () => {
    expect(p().route({ headers: { "x-client": "bad-bot" } }, hosts).grpcStatus).toBeUndefined();
    expect(p().configure('{"header":"x-client","values":["x"],"status":429,"grpc_status":8,"body":"quota used up"}')).toEqual({ ok: true });
    expect(p().route({ headers: { "x-client": "x" } }, hosts)).toMatchObject({ verdict: "reject", status: 429, body: "quota used up", grpcStatus: 8 });
    p().configure();
  });

  it.each([
    ['{"header":"x-client","values":["x"],"status":99}', 'config field "status": expected an integer in 200..599, got 99'],
    ['{"header":"x-client","values":"x"}', 'config field "values": expected an array of strings, got string'],
    ['{"header":"x-client","values":["x"],"grpc_status":17}', 'config field "grpc_status": expected an integer in 0..16, got 17'],
    [`{"header":"x-client","values":["x"],"body":"${"b".repeat(65537)}"}`, 'config field "body": expected at most 65536 bytes, got 65537'],
  ])("rejects %s", (config, message) => {
    expect(p().configure(config)).toEqual({ ok: false, message });
  });
});

describe("drain", () => {
  const p = () => plugins["drain"]!;

  it("accepts everything while not draining", () => {
    p().configure();
    expect(p().route({}, hosts)).toMatchObject({ verdict: "accept", kept: [0, 1, 2, 3, 4, 5] });
  });

  it("answers WAIT waitMs while draining", () => {
    expect(p().configure('{"draining":true,"waitMs":250}')).toEqual({ ok: true });
    expect(p().route({}, hosts)).toMatchObject({ verdict: "wait", waitMs: 250 });
    expect(p().configure('{"draining":true}')).toEqual({ ok: true });
    expect(p().route({}, hosts)).toMatchObject({ verdict: "wait", waitMs: 50 });
    p().configure();
  });

  it.each([
    ['{"waitMs":50}', 'config field "draining": required, expected true or false'],
    ['{"draining":"yes"}', 'config field "draining": expected true or false, got string'],
    ['{"draining":true,"waitMs":60001}', 'config field "waitMs": expected an integer in 1..60000, got 60001'],
  ])("rejects %s", (config, message) => {
    expect(p().configure(config)).toEqual({ ok: false, message });
  });
});

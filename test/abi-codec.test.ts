// Host-side codec round trips (sdk/ABI.md §4, §5) with unicode, empty values, repeated headers, 0/1/10,000
// hosts, 200 headers and random inputs from a seeded generator. The guest side is covered by
// test/sdk-codec.test.ts through the compiled echo fixture.
import { describe, expect, it } from "vitest";
import {
  AnswerError,
  HeaderFilter,
  decodeHostTable,
  decodeRequest,
  encodeHostTable,
  readMessage,
  writeMessage,
  type RequestParts,
} from "../host/abi/codec.js";
import { AnswerHeader, MetadataCache, checkKept, groupOf, readGroup, readMetadata } from "../host/abi/answer.js";
import { HostStatus, type Host } from "../host/cluster/types.js";
import { MAX_GROUPS, MAX_META_BYTES, MAX_WAIT_MS } from "../host/abi/limits.js";
import { SharedRequest } from "../host/abi/shared-request.js";
import { seeded } from "./helpers/random.js";

const ALPHABET = ["a", "Z", "0", "-", " ", "é", "ß", "中", "文", "😀", "\u0000", "\"", "\\", "ﬁ"];
function randomString(rand: () => number, max: number): string {
  const n = Math.floor(rand() * (max + 1));
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}
function randomToken(rand: () => number): string {
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  const n = 1 + Math.floor(rand() * 20);
  let s = "";
  for (let i = 0; i < n; i++) s += chars[Math.floor(rand() * chars.length)];
  return s;
}

function host(address: string, weight: number, healthy: boolean, tags: Record<string, string>): Host {
  return { address, hostname: undefined, weight, healthy, tags, status: HostStatus.Available, pending: 0 };
}

function roundTripRequest(req: RequestParts, filter: HeaderFilter | null) {
  const shared = new SharedRequest([filter]);
  shared.encode(req);
  const u8 = new Uint8Array(shared.sizeOf(0) + 16);
  const end = shared.writeTo(0, u8, 8);
  expect(end - 8).toBe(shared.sizeOf(0));
  return decodeRequest(u8, 8, end - 8);
}

describe("request codec", () => {
  it("round-trips unicode, empty values, repeated headers in order, names lowercased", () => {
    const req: RequestParts = {
      method: "POST",
      path: "/api/ünïcode?q=中文",
      authority: "example.com:8080",
      rawHeaders: ["X-Canary", "1", "Empty", "", "Set-Cookie", "a=1", "set-cookie", "b=😀", "X-Name", "Ünïcödé 中文"],
    };
    expect(roundTripRequest(req, null)).toEqual({
      method: "POST",
      path: "/api/ünïcode?q=中文",
      authority: "example.com:8080",
      headers: [["x-canary", "1"], ["empty", ""], ["set-cookie", "a=1"], ["set-cookie", "b=😀"], ["x-name", "Ünïcödé 中文"]],
    });
  });

  it("writes only declared headers when the bundle declares them, matching case-insensitively", () => {
    const req: RequestParts = { method: "GET", path: "/", authority: "h", rawHeaders: ["X-CANARY", "yes", "Accept", "*/*", "x-canary", "again"] };
    const d = roundTripRequest(req, new HeaderFilter(["x-canary", "x-missing"]));
    expect(d.headers).toEqual([["x-canary", "yes"], ["x-canary", "again"]]);
  });

  it("carries 200 headers", () => {
    const raw: string[] = [];
    for (let i = 0; i < 200; i++) raw.push(`X-H-${i}`, `value-${i}`);
    const d = roundTripRequest({ method: "GET", path: "/", authority: "", rawHeaders: raw }, null);
    expect(d.headers).toHaveLength(200);
    expect(d.headers[199]).toEqual(["x-h-199", "value-199"]);
  });

  it("refuses more than MAX_HEADERS headers", () => {
    const raw: string[] = [];
    for (let i = 0; i < 300; i++) raw.push(`x-${i}`, "v");
    const req = { method: "GET", path: "/", authority: "", rawHeaders: raw };
    const shared = new SharedRequest([null]);
    shared.encode(req);
    expect(() => shared.writeTo(0, new Uint8Array(shared.sizeOf(0)), 0)).toThrow(/MAX_HEADERS/);
  });

  it("round-trips 2,000 random requests (property)", () => {
    const rand = seeded(42);
    for (let c = 0; c < 2000; c++) {
      const raw: string[] = [];
      const n = Math.floor(rand() * 12);
      for (let i = 0; i < n; i++) raw.push(randomToken(rand), randomString(rand, 30));
      const req = { method: randomToken(rand), path: "/" + randomString(rand, 40), authority: randomString(rand, 20), rawHeaders: raw };
      const d = roundTripRequest(req, null);
      // Lone surrogates cannot be UTF-8; everything else must come back exactly.
      expect(d.path).toBe(req.path);
      expect(d.authority).toBe(req.authority);
      expect(d.headers).toEqual(Array.from({ length: n }, (_, i) => [raw[2 * i]!.toLowerCase(), raw[2 * i + 1]!]));
    }
  });

  it("turns lone surrogates into U+FFFD rather than failing", () => {
    const d = roundTripRequest({ method: "GET", path: "/\ud800x", authority: "", rawHeaders: [] }, null);
    expect(d.path).toBe("/\ufffdx");
  });
});

describe("host table codec", () => {
  it("round-trips 0, 1 and 10,000 hosts with unicode tags", () => {
    for (const n of [0, 1, 10_000]) {
      const hosts = Array.from({ length: n }, (_, i) =>
        host(`10.0.${i >> 8}.${i & 255}:80`, 1 + (i % 7), i % 3 !== 0, { zone: `z${i % 4}`, version: i % 10 === 0 ? "canary" : "v1", "ключ": "значение 😀", empty: "" }),
      );
      const decoded = decodeHostTable(encodeHostTable(hosts));
      expect(decoded).toHaveLength(n);
      decoded.forEach((d, i) => {
        expect(d.address).toBe(hosts[i]!.address);
        expect(d.weight).toBe(hosts[i]!.weight);
        expect(d.healthy).toBe(hosts[i]!.healthy);
        expect(Object.fromEntries(d.tags)).toEqual(hosts[i]!.tags);
      });
    }
  });

  it("round-trips random tables (property)", () => {
    const rand = seeded(7);
    for (let c = 0; c < 300; c++) {
      const hosts = Array.from({ length: Math.floor(rand() * 20) }, () => {
        const tags: Record<string, string> = {};
        for (let t = Math.floor(rand() * 5); t > 0; t--) tags[randomToken(rand)] = randomString(rand, 15);
        return host(`${randomString(rand, 10)}:${Math.floor(rand() * 65535)}`, Math.floor(rand() * 1000), rand() < 0.5, tags);
      });
      const decoded = decodeHostTable(encodeHostTable(hosts));
      expect(decoded.map((d) => [d.address, d.weight, d.healthy, Object.fromEntries(d.tags)])).toEqual(hosts.map((h) => [h.address, h.weight, h.healthy, h.tags]));
    }
  });

  it("refuses a truncated table with the field that ran short", () => {
    const bytes = encodeHostTable([host("a:1", 1, true, { zone: "a" })]);
    expect(() => decodeHostTable(bytes.subarray(0, bytes.length - 2))).toThrow(/tags\[0\]\.value/);
  });
});

function answer(fields: number[], tail: number[] = []): Uint8Array {
  // A whole number of u32, as wasm memory always is.
  const u8 = new Uint8Array((24 + tail.length + 8 + 3) & ~3);
  const dv = new DataView(u8.buffer);
  fields.forEach((v, i) => dv.setInt32(i * 4, v, true));
  u8.set(tail, 24);
  return u8;
}

/** AnswerHeader.read at offset 0 of `u8`, with its u32 view. */
function read(h: AnswerHeader, u8: Uint8Array, offered: number): void {
  h.read(u8, new Uint32Array(u8.buffer, u8.byteOffset, u8.byteLength >>> 2), 0, offered);
}

describe("answer checks", () => {
  const cases: [string, number[], RegExp][] = [
    ["unknown verdict", [7, -1, 0, 0, 0, 0], /verdict 7/],
    ["kept below the last group", [0, -2 - MAX_GROUPS, 0, 0, 0, 0], /kept -66/],
    ["a group with a reject", [1, -2, 200, 0, 0, 0], /kept -2 names a group with a verdict other than accept/],
    ["a group with a wait", [2, -3, 5, 0, 0, 0], /kept -3 names a group/],
    ["kept above offered", [0, 11, 0, 0, 0, 0], /kept 11/],
    ["reject status out of range", [1, 0, 99, 0, 0, 0], /reject status 99/],
    ["wait of 0 ms", [2, 0, 0, 0, 0, 0], /wait 0 ms/],
    ["wait over the limit", [2, 0, MAX_WAIT_MS + 1, 0, 0, 0], /wait 60001 ms/],
    ["body without reject", [0, -1, 0, 5, 0, 0], /body_len 5 given without a reject/],
    ["too many metadata pairs", [0, -1, 0, 0, 33, 300], /meta_count 33/],
    ["metadata too long", [0, -1, 0, 0, 1, MAX_META_BYTES + 1], /meta_len 4097/],
    ["metadata past memory", [0, -1, 0, 0, 1, 4000], /runs past the end/],
  ];
  for (const [name, fields, re] of cases) {
    it(`refuses ${name}`, () => {
      const h = new AnswerHeader();
      expect(() => read(h, answer(fields), 10)).toThrow(AnswerError);
      expect(() => read(h, answer(fields), 10)).toThrow(re);
    });
  }

  it("reads metadata pairs and refuses a pair that overruns meta_len", () => {
    const pair = [...new Uint8Array(new Uint32Array([7]).buffer), ..."version".split("").map((c) => c.charCodeAt(0)), ...new Uint8Array(new Uint32Array([6]).buffer), ..."canary".split("").map((c) => c.charCodeAt(0))];
    const good = answer([0, -1, 0, 0, 1, pair.length], pair);
    const h = new AnswerHeader();
    read(h, good, 3);
    expect(readMetadata(good, 0, h)).toEqual([["version", "canary"]]);
    const bad = answer([0, -1, 0, 0, 1, pair.length - 1], pair);
    read(h, bad, 3);
    expect(() => readMetadata(bad, 0, h)).toThrow(/meta\[0\]\.value/);
  });

  it("checks kept indices: range, duplicates, offered", () => {
    const marks = new Uint32Array(10);
    expect(checkKept(Uint32Array.of(1, 3, 5), 0, 3, 10, true, marks, 0, 1)).toBe(true);
    expect(checkKept(Uint32Array.of(5, 1), 0, 2, 10, true, marks, 0, 2)).toBe(false);
    expect(() => checkKept(Uint32Array.of(10), 0, 1, 10, true, marks, 0, 3)).toThrow(/out of range/);
    expect(() => checkKept(Uint32Array.of(2, 2), 0, 2, 10, true, marks, 0, 4)).toThrow(/given twice/);
    marks[4] = 5;
    expect(() => checkKept(Uint32Array.of(4, 6), 0, 2, 10, false, marks, 5, 6)).toThrow(/index 6 was not offered/);
  });

  it("refuses an answer header that is not 4-byte aligned", () => {
    const u8 = answer([0, -1, 0, 0, 0, 0]);
    expect(() => new AnswerHeader().read(u8, new Uint32Array(u8.buffer), 2, 10)).toThrow(/at 2 is not 4-byte aligned/);
  });

  it("accepts a group answer, kept -2-g for g < MAX_GROUPS (§5.3)", () => {
    const h = new AnswerHeader();
    read(h, answer([0, -2, 0, 0, 0, 0]), 10);
    expect([h.kept, groupOf(h.kept)]).toEqual([-2, 0]);
    read(h, answer([0, -1 - MAX_GROUPS, 0, 0, 0, 0]), 10);
    expect(groupOf(h.kept)).toBe(MAX_GROUPS - 1);
  });

  it("reads a group: count, then strictly increasing indices below the host count", () => {
    const mem = new Uint32Array(16);
    const u8 = new Uint8Array(mem.buffer);
    mem[0] = 3; // the count, in the output area at byte 0
    mem.set([1, 4, 9], 8); // the indices, in the subset area at u32 index 8
    const g = readGroup(u8, mem, 0, 8, 10, 2);
    expect([...g]).toEqual([1, 4, 9]);
    mem[9] = 1; // a copy: later writes into the guest's memory do not reach the host's group
    expect([...g]).toEqual([1, 4, 9]);
    expect(() => readGroup(u8, mem, 0, 8, 10, 2)).toThrow(/group\[2\]\[1\] index 1 is not greater than the one before \(1\)/);
    mem[9] = 10;
    expect(() => readGroup(u8, mem, 0, 8, 10, 2)).toThrow(/group\[2\]\[1\] index 10 is out of range/);
    mem[0] = 11;
    expect(() => readGroup(u8, mem, 0, 8, 10, 2)).toThrow(/group\[2\]\.count 11 exceeds the table's 10 hosts/);
    mem[0] = 9;
    expect(() => readGroup(u8, mem, 0, 8, 10, 2)).toThrow(/runs past the end of memory/);
    mem[0] = 0;
    expect([...readGroup(u8, mem, 0, 8, 10, 2)]).toEqual([]);
    expect(() => readGroup(u8, mem, 62, 8, 10, 2)).toThrow(/lies outside memory/);
  });

  it("decodes metadata again only when its bytes change", () => {
    const enc = (k: string, v: string) => [k, v].flatMap((s) => [...new Uint8Array(new Uint32Array([s.length]).buffer), ...s.split("").map((c) => c.charCodeAt(0))]);
    const cache = new MetadataCache();
    const h = new AnswerHeader();
    const a = enc("version", "v1");
    const u8 = answer([0, -1, 0, 0, 1, a.length], a);
    read(h, u8, 3);
    const first = cache.read(u8, 0, h);
    expect(first).toEqual([["version", "v1"]]);
    expect(Object.isFrozen(first)).toBe(true);
    expect(cache.read(u8, 0, h)).toBe(first);
    const key = cache.key;
    const b = enc("version", "v2");
    const u8b = answer([0, -1, 0, 0, 1, b.length], b);
    read(h, u8b, 3);
    expect(cache.read(u8b, 0, h)).toEqual([["version", "v2"]]);
    expect(cache.key).not.toBe(key);
    const bad = answer([0, -1, 0, 0, 1, b.length - 1], b);
    read(h, bad, 3);
    expect(() => cache.read(bad, 0, h)).toThrow(/meta\[0\]\.value/);
    read(h, u8b, 3);
    expect(cache.read(u8b, 0, h)).toEqual([["version", "v2"]]);
  });

  it("round-trips messages and bounds their length", () => {
    const u8 = new Uint8Array(64);
    writeMessage(u8, 4, "rejected: «percent» 😀");
    expect(readMessage(u8, 4)).toBe("rejected: «percent» 😀");
    new DataView(u8.buffer).setUint32(4, 1000, true);
    expect(() => readMessage(u8, 4)).toThrow(/runs past the end of memory/);
  });
});

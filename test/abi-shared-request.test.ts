// The chain's request encoder (host/abi/shared-request.ts): one encoding per request, one copy per plugin
// holding the method, path, authority and only the headers that plugin declares (all of them for a plugin
// declaring none), in arrival order, names lowercased (sdk/ABI.md §4.2). Checked by decoding every slot's
// bytes with the host's bounded decoder, against the rule computed here by hand.
import { describe, expect, it } from "vitest";
import { HeaderFilter, decodeRequest, type RequestParts } from "../host/abi/codec.js";
import { MAX_REQUEST_BYTES } from "../host/abi/limits.js";
import { SharedRequest } from "../host/abi/shared-request.js";
import { seeded } from "./helpers/random.js";

/** What slot `filter` must receive: declared headers (any case) in arrival order, names lowercased. */
function expected(req: RequestParts, filter: readonly string[] | null) {
  const headers: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (filter === null || filter.some((f) => f.toLowerCase() === name)) headers.push([name, req.rawHeaders[i + 1]!]);
  }
  return { method: req.method, path: req.path, authority: req.authority, headers };
}

/** Encodes `req` once and decodes each slot's copy, written at an offset into a buffer with guard bytes. */
function slots(shared: SharedRequest, req: RequestParts, count: number, words = true) {
  shared.encode(req);
  return Array.from({ length: count }, (_, slot) => {
    const size = shared.sizeOf(slot);
    // Every offset modulo 4, with and without the word view: the word copy must give the same bytes.
    const at = 16 + (slot % 4);
    const u8 = new Uint8Array((size + 36) & ~3).fill(0xee);
    const end = shared.writeTo(slot, u8, at, words ? new Uint32Array(u8.buffer) : null);
    expect(end - at).toBe(size);
    // Nothing written outside [at, end).
    expect(u8.subarray(0, at).every((b) => b === 0xee)).toBe(true);
    expect(u8.subarray(end).every((b) => b === 0xee)).toBe(true);
    return decodeRequest(u8, at, size);
  });
}

describe("SharedRequest", () => {
  it("gives each plugin of a chain its own headers from one encoding", () => {
    const filters = [["X-Canary"], null, ["x-zone", "x-canary"], [], ["x-absent"]];
    const shared = new SharedRequest(filters.map((f) => (f === null ? null : new HeaderFilter(f))));
    const req: RequestParts = {
      method: "POST",
      path: "/ünï?q=中文",
      authority: "shop.example.com:8080",
      rawHeaders: ["Host", "shop.example.com:8080", "x-CANARY", "1", "X-Zone", "b", "Cookie", "s=😀", "x-canary", "again", "X-Empty", ""],
    };
    const got = slots(shared, req, filters.length);
    filters.forEach((f, i) => expect(got[i]).toEqual(expected(req, f)));
    expect(got[0]!.headers).toEqual([["x-canary", "1"], ["x-canary", "again"]]);
    expect(got[3]!.headers).toEqual([]);
  });

  it("encodes each request afresh: sizes and bytes never come from the request before", () => {
    const shared = new SharedRequest([new HeaderFilter(["x-user"]), null]);
    const long: RequestParts = { method: "GET", path: "/a/very/long/path/that/goes/on?and=on", authority: "a.example", rawHeaders: ["X-User", "a-long-user-name", "Accept", "*/*"] };
    const short: RequestParts = { method: "GET", path: "/", authority: "b", rawHeaders: ["X-User", "u"] };
    expect(slots(shared, long, 2)).toEqual([expected(long, ["x-user"]), expected(long, null)]);
    // Only slot 1 is asked for the short request: slot 0's size must not be the long request's.
    shared.encode(short);
    expect(shared.sizeOf(1)).toBeLessThan(40);
    expect(slots(shared, short, 2)).toEqual([expected(short, ["x-user"]), expected(short, null)]);
  });

  it("matches 1,000 random requests against random chains of filters (property)", () => {
    const rand = seeded(7);
    const names = ["x-canary", "X-Zone", "x-user", "accept", "cookie", "x-a", "x-ab", "x-ba", "host"];
    const values = ["", "1", "zone-a", "ünïcödé", "😀 emoji", "a".repeat(70), "\u0000nul"];
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    for (let c = 0; c < 1000; c++) {
      const filters = Array.from({ length: 1 + Math.floor(rand() * 5) }, () =>
        rand() < 0.2 ? null : Array.from({ length: Math.floor(rand() * 4) }, () => pick(names)),
      );
      const shared = new SharedRequest(filters.map((f) => (f === null ? null : new HeaderFilter(f))));
      for (let r = 0; r < 3; r++) {
        const raw: string[] = [];
        const n = Math.floor(rand() * 10);
        for (let i = 0; i < n; i++) {
          const name = pick(names);
          raw.push(rand() < 0.5 ? name.toUpperCase() : name, pick(values));
        }
        const req: RequestParts = { method: pick(["GET", "POST"]), path: `/${pick(values)}`, authority: pick(values), rawHeaders: raw };
        const got = slots(shared, req, filters.length, r !== 1);
        filters.forEach((f, i) => expect(got[i]).toEqual(expected(req, f)));
      }
    }
  });

  it("refuses a request far past MAX_REQUEST_BYTES with a RangeError naming its size", () => {
    const shared = new SharedRequest([null]);
    shared.encode({ method: "GET", path: `/${"p".repeat(MAX_REQUEST_BYTES * 3)}`, authority: "h", rawHeaders: [] });
    expect(() => shared.writeTo(0, new Uint8Array(16), 0)).toThrow(/request needs \d+ bytes/);
  });
});

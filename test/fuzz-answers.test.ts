// Issue 5, "Must show": a fuzz test of plugin answers. Random bytes as the plugin's answer (§5.2 header, body,
// metadata, kept indices), random requests (methods, paths, authorities, header names and values, ASCII and
// not) and random host tables (sizes, tags), through the real chain, the real sandboxed instance and the real
// codecs. The raw-answer fixture decodes the request and the hosts and answers with whatever is in its output
// and subset areas; the test writes those bytes before each call. Each case must end in a decision that
// matches an independent reading of §5.2 (below), or in a plugin failure of kind "answer" naming the field the
// reading names. Seeded; a failing case prints its seed and number.

import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { RequestParts } from "../host/abi/codec.js";
import { MAX_BODY_BYTES, MAX_META_BYTES, MAX_META_PAIRS, MAX_WAIT_MS } from "../host/abi/limits.js";
import { HostStatus, type ClusterSnapshot, type Host } from "../host/cluster/types.js";
import { loadBundle, type Bundle } from "../host/plugin/bundle.js";
import { PluginChain, type ChainDecision } from "../host/plugin/chain.js";
import { TableRegistry } from "../host/plugin/table-registry.js";
import { RouterPlugin } from "../host/plugin/plugin.js";
import { sandboxOptions } from "../host/sandbox/options.js";
import { seeded } from "./helpers/random.js";

const CASES = 100_000;
const SEED = 0x5eed_0005;
const BUNDLE = join(new URL("../", import.meta.url).pathname, "test/fixtures/raw-answer/bundle");
const decoder = new TextDecoder();
const encoder = new TextEncoder();

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const TAG_KEYS = ["zone", "version", "env", "ünï", ""] as const;
const TAG_VALUES = ["a", "b", "canary", "v1", "", "日本", "x".repeat(40)] as const;
const CHARS = ["a", "Z", "0", "-", "/", "?", "=", "%", " ", "\t", "é", "ÿ", "€", "日", "😀", "\u0000", "\u007f", "\ud800", "İ"];

function randomString(r: Rand, max: number, chars: readonly string[] = CHARS): string {
  let s = "";
  const n = int(r, max + 1);
  for (let i = 0; i < n; i++) s += pick(r, chars);
  return s;
}

function randomSnapshot(r: Rand, id: number): ClusterSnapshot {
  const hosts: Host[] = [];
  const n = int(r, 5) === 0 ? 0 : 1 + int(r, 24);
  for (let i = 0; i < n; i++) {
    const tags: Record<string, string> = {};
    for (let t = int(r, 4); t > 0; t--) tags[pick(r, TAG_KEYS)] = pick(r, TAG_VALUES);
    hosts.push({ address: `10.0.${id}.${i}:${1 + int(r, 65535)}`, hostname: undefined, weight: 1 + int(r, 100), healthy: r() < 0.8, tags, status: HostStatus.Available, pending: 0 });
  }
  return { cluster: "fuzz", version: id, id: 1_000_000 + id, hosts };
}

function randomRequest(r: Rand): RequestParts {
  const rawHeaders: string[] = [];
  for (let i = int(r, 12); i > 0; i--) {
    rawHeaders.push(r() < 0.7 ? pick(r, ["Host", "X-Zone", "x-canary", "Cookie", "ACCEPT"]) : randomString(r, 12), randomString(r, 40));
  }
  return { method: r() < 0.8 ? pick(r, ["GET", "POST", "DELETE"]) : randomString(r, 8), path: randomString(r, 60), authority: randomString(r, 30), rawHeaders };
}

/** An answer as the test writes it: the 24-byte head, then `tail` (body, then metadata), then kept indices. */
interface Answer {
  head: [number, number, number, number, number, number];
  tail: Uint8Array;
  kept: number[];
}

function encodePairs(pairs: readonly [string, string][]): Uint8Array {
  const parts: number[] = [];
  for (const [k, v] of pairs) {
    for (const s of [k, v]) {
      const b = encoder.encode(s);
      parts.push(b.length & 255, (b.length >>> 8) & 255, (b.length >>> 16) & 255, b.length >>> 24, ...b);
    }
  }
  return Uint8Array.from(parts);
}

function randomBytes(r: Rand, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

const u32 = (r: Rand) => int(r, 0x1_0000_0000);

/** Mostly well-formed answers with one field bent now and then, and some pure noise. */
function randomAnswer(r: Rand, hostCount: number): Answer {
  if (r() < 0.05) return { head: [u32(r), u32(r), u32(r), u32(r), u32(r), u32(r)], tail: randomBytes(r, int(r, 64)), kept: Array.from({ length: 8 }, () => u32(r)) };
  const verdict = r() < 0.96 ? pick(r, [0, 0, 0, 0, 1, 2]) : pick(r, [3, u32(r)]);
  const bend = r() < 0.25; // one field outside its rule
  let arg = verdict === 1 ? 200 + int(r, 400) : verdict === 2 ? 1 + int(r, MAX_WAIT_MS) : 0;
  let body: Uint8Array = verdict === 1 ? encoder.encode(randomString(r, 20)) : new Uint8Array(0);
  let keptCount = r() < 0.3 ? -1 : int(r, hostCount + 1);
  const order = Array.from({ length: hostCount }, (_, i) => i).sort(() => r() - 0.5);
  let kept = order.slice(0, Math.max(keptCount, 0));
  const pairs: [string, string][] = [];
  if (verdict === 0 && r() < 0.3) for (let i = 1 + int(r, 2); i > 0; i--) pairs.push([pick(r, TAG_KEYS), pick(r, TAG_VALUES)]);
  let meta: Uint8Array = encodePairs(pairs);
  let metaCount = pairs.length;
  let metaLen = meta.length;
  if (bend) {
    switch (int(r, 10)) {
      case 0: arg = pick(r, [0, 199, 600, MAX_WAIT_MS + 1, u32(r)]); break;
      case 1: keptCount = pick(r, [-2, hostCount + 1, u32(r) | 0]); break;
      case 2: if (kept.length > 0) kept.push(kept[int(r, kept.length)]!), keptCount++; break;
      case 3: if (kept.length > 0) kept[int(r, kept.length)] = hostCount + int(r, 3); break;
      case 4: body = randomBytes(r, 1 + int(r, 8)); break;
      case 5: metaCount = MAX_META_PAIRS + 1 + int(r, 3); break;
      case 6: metaLen = MAX_META_BYTES + 1 + int(r, 100); break;
      case 7: metaLen = Math.max(0, metaLen + pick(r, [-1, 1, -5, 7])); break;
      case 8: meta = randomBytes(r, 8 * Math.max(1, metaCount) + int(r, 16)); metaLen = meta.length; metaCount = Math.max(1, metaCount); break;
      default: metaCount = metaCount + pick(r, [1, -1]); if (metaCount < 0) metaCount = 0; break;
    }
  }
  const tail = new Uint8Array(body.length + meta.length);
  tail.set(body, 0);
  tail.set(meta, body.length);
  return { head: [verdict, keptCount >>> 0, arg >>> 0, body.length, metaCount, metaLen], tail, kept };
}

type Expected =
  | { outcome: "accept"; indices: number[] | null; metadata: [string, string][] }
  | { outcome: "reject"; status: number; body: string; grpcStatus: number | null }
  | { outcome: "wait"; waitMs: number }
  | { outcome: "answer"; field: string };

/** §5.2 read independently of host/abi/codec.ts, over the bytes as they are in the guest's memory. */
function expected(mem: Uint8Array, out: number, kept: Uint32Array, hosts: readonly Host[]): Expected {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const at = (i: number) => dv.getUint32(out + 4 * i, true);
  const [v, k, arg, bodyLen, metaCount, metaLen] = [at(0), at(1) | 0, at(2), at(3), at(4), at(5)];
  const n = hosts.length;
  if (v > 2) return { outcome: "answer", field: "verdict" };
  if (k < -1 || k > n) return { outcome: "answer", field: "kept" };
  if (v === 1 && (arg < 200 || arg > 599)) return { outcome: "answer", field: "arg" };
  if (v === 2 && (arg < 1 || arg > MAX_WAIT_MS)) return { outcome: "answer", field: "arg" };
  if (bodyLen > MAX_BODY_BYTES || (v !== 1 && bodyLen !== 0)) return { outcome: "answer", field: "body_len" };
  if (metaCount > MAX_META_PAIRS) return { outcome: "answer", field: "meta_count" };
  if (metaLen > MAX_META_BYTES || (metaCount > 0 && metaLen < metaCount * 8)) return { outcome: "answer", field: "meta_len" };
  if (v === 2) return { outcome: "wait", waitMs: arg };
  if (v === 1) {
    // A Reject's metadata is read for its grpc-status (a decimal gRPC code 0..16, given once).
    let grpcStatus: number | null = null;
    if (metaCount > 0) {
      const pairs = readPairs(dv, mem, out + 24 + bodyLen, metaCount, metaLen);
      if (!Array.isArray(pairs)) return pairs;
      for (let i = 0; i < pairs.length; i++) {
        if (pairs[i]![0] !== "grpc-status") continue;
        if (!/^(?:[0-9]|1[0-6])$/.test(pairs[i]![1])) return { outcome: "answer", field: `meta[${i}].value` };
        if (grpcStatus !== null) return { outcome: "answer", field: `meta[${i}].key` };
        grpcStatus = Number(pairs[i]![1]);
      }
    }
    return { outcome: "reject", status: arg, body: decoder.decode(mem.subarray(out + 24, out + 24 + bodyLen)), grpcStatus };
  }
  let set: number[] | null = null;
  if (k >= 0) {
    const seen = new Set<number>();
    for (let i = 0; i < k; i++) {
      const idx = kept[i]!;
      if (idx >= n || seen.has(idx)) return { outcome: "answer", field: `kept[${i}]` };
      seen.add(idx);
    }
    set = [...seen].sort((a, b) => a - b);
  }
  let pairs: [string, string][] = [];
  if (metaCount > 0) {
    const read = readPairs(dv, mem, out + 24, metaCount, metaLen);
    if (!Array.isArray(read)) return read;
    pairs = read;
    set = (set ?? hosts.map((_, i) => i)).filter((i) => pairs.every(([key, value]) => hosts[i]!.tags[key] === value));
  }
  return { outcome: "accept", indices: set, metadata: pairs };
}

/** The metadata pairs at `start` (§5.2), or the answer failure naming the field that runs out. */
function readPairs(dv: DataView, mem: Uint8Array, start: number, metaCount: number, metaLen: number): [string, string][] | Expected {
  const pairs: [string, string][] = [];
  let pos = start;
  const end = pos + metaLen;
  const str = (field: string): string | Expected => {
    if (pos + 4 > end) return { outcome: "answer", field: `metadata.${field}.len` };
    const len = dv.getUint32(pos, true);
    pos += 4;
    if (pos + len > end) return { outcome: "answer", field: `metadata.${field}` };
    const s = decoder.decode(mem.subarray(pos, pos + len));
    pos += len;
    return s;
  };
  for (let i = 0; i < metaCount; i++) {
    const key = str(`meta[${i}].key`);
    if (typeof key !== "string") return key;
    const value = str(`meta[${i}].value`);
    if (typeof value !== "string") return value;
    pairs.push([key, value]);
  }
  if (pos !== end) return { outcome: "answer", field: "metadata" };
  return pairs;
}

/** Throws naming the first difference (plain comparisons: vitest's expect costs more than a case). */
function check(d: ChainDecision, e: Expected, policy: "open" | "closed", n: number): void {
  const fail = (what: string, got: unknown, want: unknown): never => {
    throw new Error(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  };
  if (e.outcome === "answer") {
    let failure;
    if (policy === "open") {
      if (d.outcome !== "accept" || d.subset.indices !== null || d.subset.count !== n || d.metadata.length !== 0) fail("fail open decision", d.outcome === "accept" ? { indices: d.subset.indices && [...d.subset.indices], count: d.subset.count } : d.outcome, { indices: null, count: n });
      if (d.steps[0]?.outcome !== "failed") fail("step outcome", d.steps[0]?.outcome, "failed");
      failure = d.steps[0]!.failure!;
    } else {
      if (d.outcome !== "fail") fail("fail closed decision", d.outcome, "fail");
      failure = (d as Extract<ChainDecision, { outcome: "fail" }>).failure;
    }
    if (failure.kind !== "answer" || failure.code !== "E_PLUGIN_ANSWER" || failure.plugin !== "raw-answer") fail("failure", [failure.kind, failure.code, failure.plugin], ["answer", "E_PLUGIN_ANSWER", "raw-answer"]);
    if (!failure.detail.startsWith(`invalid answer: ${e.field} `)) fail("failure detail", failure.detail, `invalid answer: ${e.field} …`);
    return;
  }
  if (d.outcome !== e.outcome) fail("outcome", d.outcome === "fail" ? d.failure.message : d.outcome, e.outcome);
  if (d.outcome === "accept" && e.outcome === "accept") {
    const got = d.subset.indices === null ? null : [...d.subset.indices];
    if (JSON.stringify(got) !== JSON.stringify(e.indices)) fail("kept indices", got, e.indices);
    if (d.subset.count !== (e.indices === null ? n : e.indices.length)) fail("count", d.subset.count, e.indices === null ? n : e.indices.length);
    if (JSON.stringify(d.metadata) !== JSON.stringify(e.metadata)) fail("metadata", d.metadata, e.metadata);
  } else if (d.outcome === "reject" && e.outcome === "reject") {
    if (d.status !== e.status || d.body !== e.body || d.grpcStatus !== e.grpcStatus) fail("reject", [d.status, d.body, d.grpcStatus], [e.status, e.body, e.grpcStatus]);
  } else if (d.outcome === "wait" && e.outcome === "wait") {
    if (d.waitMs !== e.waitMs) fail("wait", d.waitMs, e.waitMs);
  }
}

function withPolicy(bundle: Bundle, failurePolicy: "open" | "closed"): Bundle {
  return { ...bundle, metadata: { ...bundle.metadata, failurePolicy } };
}

describe("fuzz: random answers, requests and host tables through the chain", () => {
  test(`${CASES} seeded cases end in a checked decision or an answer failure naming the field`, async () => {
    const sandbox = sandboxOptions();
    const bundle = await loadBundle(BUNDLE, sandbox);
    // Quarantine out of reach: every case must call the plugin.
    const opts = { guard: sandbox.guard!, quarantine: { threshold: Number.MAX_SAFE_INTEGER, baseDelayMs: 1, maxDelayMs: 1 } };
    const plugins = { open: RouterPlugin.create(withPolicy(bundle, "open"), undefined, 0, opts), closed: RouterPlugin.create(withPolicy(bundle, "closed"), undefined, 0, opts) };
    const tables = new TableRegistry();
    const chains = { open: new PluginChain([plugins.open], tables), closed: new PluginChain([plugins.closed], tables) };
    const r = seeded(SEED);
    const snapshots = Array.from({ length: 32 }, (_, i) => randomSnapshot(r, i));
    const tally: Record<string, number> = {};
    const t0 = performance.now();
    let done = 0;
    let snapshot = snapshots[0]!;
    let runMs = 0;
    let instMs = 0;
    let checkMs = 0;
    // A fixed count of cases, whatever the machine's speed: the test's timeout is the only time bound.
    for (; done < CASES; done++) {
      const policy = done & 1 ? "open" : "closed";
      const plugin = plugins[policy];
      // A new host table every 8 cases on average: each change re-sends the table to the plugin (sy_set_hosts).
      if (done === 0 || r() < 0.125) snapshot = pick(r, snapshots);
      const n = snapshot.hosts.length;
      const req = randomRequest(r);
      const answer = randomAnswer(r, n);
      const ti = performance.now();
      const inst = plugin.instance();
      instMs += performance.now() - ti;
      if (inst === null) throw new Error(`case ${done}: no instance (re-instantiation failed)`);
      const g = inst.guest;
      const out = g.output();
      const si = g.subset(n) >>> 2;
      const mem = g.view();
      const head = new DataView(mem.buffer, out, 24);
      answer.head.forEach((v, i) => head.setUint32(4 * i, v, true));
      mem.set(answer.tail, out + 24);
      const keptArea = Math.max(n, 1);
      for (let i = 0; i < keptArea; i++) g.u32[si + i] = answer.kept[i] ?? 0;
      const want = expected(mem, out, g.u32.subarray(si, si + keptArea), snapshot.hosts);
      let d: ChainDecision;
      try {
        const tr = performance.now();
        d = chains[policy].run(req, snapshot);
        const tc = performance.now();
        runMs += tc - tr;
        check(d, want, policy, n);
        checkMs += performance.now() - tc;
      } catch (err) {
        throw new Error(`seed ${SEED} case ${done} (${policy}, ${n} hosts, head ${JSON.stringify(answer.head)}): ${(err as Error).message}`, { cause: err });
      }
      const key = want.outcome === "answer" ? `answer:${want.field.replace(/\[\d+\]/g, "[i]")}` : want.outcome;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    const ms = performance.now() - t0;
    console.log(`instance ${instMs.toFixed(0)} ms, run ${runMs.toFixed(0)} ms, check ${checkMs.toFixed(0)} ms`);
    console.log(`fuzz: ${done} cases in ${ms.toFixed(0)} ms (${((ms * 1000) / done).toFixed(1)} µs/case); ${JSON.stringify(tally)}`);
    expect(done).toBe(CASES);
    // The generator reaches every outcome and every field the host checks.
    for (const k of ["accept", "reject", "wait", "answer:verdict", "answer:kept", "answer:arg", "answer:body_len", "answer:meta_count", "answer:meta_len", "answer:kept[i]", "answer:metadata"]) {
      expect(tally[k], k).toBeGreaterThan(0);
    }
    const failures = plugins.open.stats.failures + plugins.closed.stats.failures;
    expect(failures).toBe(Object.entries(tally).filter(([k]) => k.startsWith("answer:")).reduce((a, [, v]) => a + v, 0));
    expect({ ...plugins.open.stats.failuresByKind, ...plugins.closed.stats.failuresByKind }).toEqual({ answer: expect.any(Number) });
  }, 120_000);
});

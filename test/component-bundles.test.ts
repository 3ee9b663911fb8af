// Component bundles (sdk/wit/README.md) through the host's own loader (host/plugin/bundle.ts, component.ts):
// real components made by jco's wasm-tools, transpiled by jco at load, every core module compiled by the
// host after the sandbox's metering and memory cap. What a raw bundle gets, a component gets: refusals that
// name what is wrong, the call budget, the memory cap, failures with the plugin's message, the table once
// per snapshot version.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBundle as loadVerified } from "../host/plugin/bundle.js";
import { loadBundle, type HostSpec } from "../sdk/harness/index.js";
import { stubComponent, writeComponentBundle } from "./fixtures/components.js";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig, startSwitchyard, upstreamOf } from "./helpers/switchyard.js";
import { startUpstreams } from "./helpers/upstreams.js";

let root: string;
let n = 0;
const next = () => join(root, `b${n++}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-components-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const hosts: HostSpec[] = [0, 1, 2].map((i) => ({ address: `127.0.0.${i + 1}:80`, weight: 1, tags: {}, healthy: true }));

async function refusal(dir: string): Promise<{ code: string; message: string }> {
  try {
    await loadVerified(dir);
  } catch (err) {
    const e = err as { code: string; message: string };
    return { code: e.code, message: e.message };
  }
  throw new Error(`${dir} loaded`);
}

describe("component bundles are verified", () => {
  it("a stub of the world loads through the host's loader and answers", async () => {
    const p = await loadBundle(await writeComponentBundle(next(), await stubComponent()));
    expect(p.name).toBe("stub");
    expect(p.route({}, hosts).kept).toEqual([0, 1, 2]);
  }, 120_000);

  it("imports outside the world are refused, each named with what it reaches", async () => {
    const c = await stubComponent({
      worldExtra: "import wasi:random/random@0.2.3; import wasi:filesystem/types@0.2.3;",
      packagesExtra: "package wasi:random@0.2.3 { interface random { get-random-u64: func() -> u64; } }\npackage wasi:filesystem@0.2.3 { interface types { sync: func(); } }",
      imports: '(import "wasi:random/random@0.2.3" "get-random-u64" (func (result i64))) (import "wasi:filesystem/types@0.2.3" "sync" (func))',
    });
    const r = await refusal(await writeComponentBundle(next(), c));
    expect(r.code).toBe("E_BUNDLE_IMPORT");
    expect(r.message).toContain("wasi:random/random@0.2.3 (randomness)");
    expect(r.message).toContain("wasi:filesystem/types@0.2.3 (the filesystem)");
  }, 120_000);

  it("an export typed otherwise than the world is refused, naming it", async () => {
    const c = await stubComponent({ routeSignature: "(table: u32, request: request, offered: option<list<u32>>) -> result<answer, u32>" });
    const r = await refusal(await writeComponentBundle(next(), c));
    expect(r.code).toBe("E_BUNDLE_WORLD");
    expect(r.message).toMatch(/route/);
  }, 120_000);

  it("another world version in metadata.json is refused; a component without world, too", async () => {
    const c = await stubComponent();
    const v2 = await refusal(await writeComponentBundle(next(), c, { world: "switchyard:router/plugin@2.0.0" }));
    expect(v2).toMatchObject({ code: "E_BUNDLE_WORLD" });
    expect(v2.message).toContain("world version 2.0.0, this host speaks switchyard:router/plugin@1.0.0");
    const none = await refusal(await writeComponentBundle(next(), c, { world: undefined }));
    expect(none.code).toBe("E_BUNDLE_METADATA");
    expect(none.message).toContain("world: required");
    const bad = await refusal(await writeComponentBundle(next(), c, { sha256: "0".repeat(64) }));
    expect(bad.code).toBe("E_BUNDLE_SHA256");
  }, 120_000);
});

describe("component calls run in the host's sandbox", () => {
  it("a route that loops forever fails with the budget, not a hang", async () => {
    const c = await stubComponent({ route: "(if (i32.eq (local.get 0) (i32.const 0)) (then (loop $l (br $l))))" });
    const p = await loadBundle(await writeComponentBundle(next(), c, { budget: { cpuMs: 5 } }));
    const t0 = performance.now();
    expect(() => p.route({}, hosts)).toThrow(/E_PLUGIN_BUDGET|out of fuel/);
    expect(performance.now() - t0).toBeLessThan(5_000);
  }, 120_000);

  it("memory growth past budget.memoryPages fails as memory", async () => {
    const c = await stubComponent({ route: "(if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then unreachable))" });
    const p = await loadBundle(await writeComponentBundle(next(), c, { budget: { memoryPages: 8 } }));
    let caught: { kind?: string; message?: string } = {};
    try {
      p.route({}, hosts);
    } catch (err) {
      caught = err as { kind: string; message: string };
    }
    expect(caught.kind).toBe("memory");
    expect(caught.message).toMatch(/memory.grow by 64 pages refused/);
  }, 120_000);

  it("host.fail fails the call with the plugin's message", async () => {
    const c = await stubComponent({ route: "(call $fail (i32.const 272) (i32.const 22))" });
    const p = await loadBundle(await writeComponentBundle(next(), c));
    expect(() => p.route({}, hosts)).toThrow(/E_PLUGIN_ABORT|stub failed on purpose/);
    try {
      p.route({}, hosts);
    } catch (err) {
      expect((err as Error).message).toContain("stub failed on purpose");
    }
  }, 120_000);

  it("the host table crosses once per snapshot version, not per request", async () => {
    const c = await stubComponent({ setHosts: "(call $log (i32.const 2) (i32.const 256) (i32.const 9))" });
    const p = await loadBundle(await writeComponentBundle(next(), c));
    for (let i = 0; i < 50; i++) p.route({ headers: { "x-i": String(i) } }, hosts);
    expect(p.logs.filter((l) => l.message === "set-hosts")).toEqual([{ level: 2, message: "set-hosts" }]);
    // Another table (a new snapshot) crosses once more.
    const more = [...hosts, { address: "127.0.0.9:80", weight: 1, tags: {}, healthy: true }];
    for (let i = 0; i < 5; i++) p.route({}, more);
    expect(p.logs.filter((l) => l.message === "set-hosts").length).toBe(2);
  }, 120_000);
});

describe("a component bundle in a running host", () => {
  it("header-canary as a component moves the canary header's traffic, as the raw bundle does", async () => {
    const ups = await startUpstreams(3);
    const tags = [{ version: "v1" }, { version: "v1" }, { version: "canary" }];
    const sy = await startSwitchyard({
      plugins: ["build/component-plugins/header-canary"],
      config: mosnConfig({
        clusters: [{ name: "c", hosts: ups.addresses.map((address, i) => ({ address, tags: tags[i]! })) }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", switchyard: { plugins: ["header-canary"] } } }])],
      }),
    });
    try {
      const seen = async (headers: Record<string, string>) => {
        const s = new Set<string>();
        for (let i = 0; i < 6; i++) {
          const r = await send(sy.url, { path: "/", headers });
          expect(r.status).toBe(200);
          s.add(upstreamOf(r.body).upstream);
        }
        return s;
      };
      expect(await seen({ "x-canary": "1" })).toEqual(new Set(["up2"]));
      expect(await seen({})).toEqual(new Set(["up0", "up1"]));
    } finally {
      await sy.close();
      await ups.close();
    }
  }, 120_000);
});

describe("the harness sees a plugin's own memory", () => {
  it("linearMemoryBytes is the component's core memory (not the host's scratch), and follows its growth", async () => {
    const c = await stubComponent({ route: "(drop (memory.grow (i32.const 2)))" });
    const p = await loadBundle(await writeComponentBundle(next(), c));
    const [before, ...others] = p.linearMemoryBytes;
    expect(others).toEqual([]);
    p.route({}, hosts);
    p.route({}, hosts);
    expect(p.linearMemoryBytes).toEqual([before! + 4 * 65_536]);
  }, 120_000);

  it("linearMemoryBytes of a raw bundle is its one memory", async () => {
    const p = await loadBundle("build/plugins/header-canary");
    const [bytes, ...others] = p.linearMemoryBytes;
    expect(others).toEqual([]);
    expect(bytes! % 65_536).toBe(0);
    expect(bytes).toBeGreaterThan(0);
  }, 120_000);
});

describe("the JavaScript guest keeps no memory per call", () => {
  // componentize-js 0.22.0 (jco componentize) never freed what cabi_realloc gave between calls: 400 calls
  // with a 64 KiB x-canary value grew its memory 43.75 MiB (the values add up to 25 MiB); the build of
  // 0.19.3 (Makefile) frees them in cabi_post_route: 0.44 MiB.
  it("400 routes with a 64 KiB declared header grow its linear memory by less than a quarter of those bytes", async () => {
    const p = await loadBundle("build/component-plugins/header-canary-js");
    const tagged: HostSpec[] = hosts.map((h, i) => ({ ...h, tags: { version: i === 0 ? "canary" : "v1" } }));
    const big = "x".repeat(64 * 1024);
    p.route({ headers: { "x-canary": "1" } }, tagged);
    const [before] = p.linearMemoryBytes;
    for (let i = 0; i < 400; i++) expect(p.route({ headers: { "x-canary": big } }, tagged).kept).toEqual([1, 2]);
    expect(p.linearMemoryBytes[0]! - before!).toBeLessThan((400 * big.length) / 4);
  }, 120_000);
});

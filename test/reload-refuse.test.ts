// Bad bundles dropped over a serving one are refused, each with its own log line, while the version that was
// serving keeps routing; a removed bundle is unloaded; a bundle whose order changed re-sorts the chain.

import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import pino from "pino";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPlugin } from "../host/build/build-plugin.js";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { Changes } from "./helpers/changes.js";
import { canaryVariant, hostConfig, memoryLog, replaceFile, REPO } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

let root: string;
let host: SwitchyardHost;
let upstreams: Upstream[];
let proxy: string;
let admin: string;
let reordered: string; // header-canary built with order 25
const logs: Record<string, unknown>[] = [];
/** Told at each log line: the waits below look for theirs then. */
const changes = new Changes();
const canaryDir = () => join(root, "plugins", "hc");

/** header-canary with order 25 instead of 10: the same source, its sy_order changed, built for real. */
async function buildReordered(): Promise<string> {
  const src = join(root, "hc25");
  await cp(join(REPO, "plugins/header-canary"), src, { recursive: true });
  const index = join(src, "assembly/index.ts");
  const sdk = relative(join(src, "assembly"), join(REPO, "sdk"));
  const text = (await readFile(index, "utf8")).replaceAll("../../../sdk/", `${sdk}/`).replace("return 10;", "return 25;");
  await writeFile(index, text);
  return (await buildPlugin(src, join(root, "hc25-bundle"), { cwd: REPO })).outDir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-reload-refuse-"));
  const building = buildReordered();
  upstreams = [await startUpstream("stable0"), await startUpstream("canary0"), await startUpstream("stable1")];
  await canaryVariant(canaryDir(), { version: "1.0.0", tagValue: "canary" });
  const cfg = hostConfig({ hosts: upstreams.map((u) => ({ address: u.address, tags: { version: u.name.replace(/\d+$/, ""), zone: "z" } })) });
  const { config } = parseConfig(JSON.stringify(cfg), "refuse.json");
  host = new SwitchyardHost({
    config,
    pluginsDir: join(root, "plugins"),
    stateDir: join(root, "state"),
    logger: pino({ level: "info" }, memoryLog(logs, changes)),
    env: { SWITCHYARD_ADMIN_TOKEN: "t" },
    watchTiming: { debounceMs: 50, pollMs: 100, settleMs: 300 },
  });
  await host.start();
  proxy = `http://127.0.0.1:${host.servers[0]!.address!.port}`;
  admin = `http://127.0.0.1:${host.adminAddress!.port}`;
  reordered = await building;
}, 90_000);

afterAll(async () => {
  for (const s of host?.servers ?? []) s.server.closeAllConnections();
  await host?.stop();
  await Promise.all((upstreams ?? []).map((u) => u.close()));
  await rm(root, { recursive: true, force: true });
});

async function send(headers: Record<string, string> = {}): Promise<{ status: number; upstream: string }> {
  const res = await request(`${proxy}/p`, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, upstream: res.statusCode === 200 ? (JSON.parse(text) as { upstream: string }).upstream : text };
}

/** The access log's chain summary of the next request (plugin:in>out, in chain order). */
async function chainOf(headers: Record<string, string>): Promise<string> {
  const before = logs.length;
  expect((await send(headers)).status).toBe(200);
  const line = await changes.until("an access log line with a chain", () => logs.slice(before).find((l) => typeof l.chain === "string"));
  return line.chain as string;
}

type Listed = { name: string; version: string; order: number; sha256: string; configVersion: number; state: string; dir?: string; code?: string; message?: string };
async function plugins(): Promise<Listed[]> {
  const res = await request(`${admin}/plugins`);
  return ((await res.body.json()) as { plugins: Listed[] }).plugins;
}

async function waitForLog(pred: (l: Record<string, unknown>) => boolean, from: number, what: string): Promise<Record<string, unknown>> {
  try {
    return await changes.until(`a log line for ${what}`, () => logs.slice(from).find(pred), 10_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(logs.slice(-3))}`);
  }
}

/** The serving header-canary 1.0.0 still routes canary requests to the canary host only. */
async function expectStillServing(sha: string): Promise<void> {
  const list = (await plugins()).filter((p) => p.state !== "refused");
  expect(list.map((p) => [p.name, p.version, p.sha256])).toEqual([["header-canary", "1.0.0", sha]]);
  for (let i = 0; i < 4; i++) expect((await send({ "x-canary": "1" })).upstream).toBe("canary0");
  for (let i = 0; i < 4; i++) expect((await send()).upstream).toMatch(/^stable/);
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("bad bundles are refused, the serving version keeps serving", () => {
  it("refuses a wrong sha256, a wrong ABI (metadata and module), a truncated wasm, a missing export and a rejected default config", async () => {
    const goodWasm = await readFile(join(canaryDir(), "plugin.wasm"));
    const goodMeta = JSON.parse(await readFile(join(canaryDir(), "metadata.json"), "utf8")) as Record<string, unknown>;
    const goodSha = goodMeta.sha256 as string;
    await expectStillServing(goodSha);

    const fixtureWasm = async (name: string) => readFile(join(REPO, "test/fixtures", name, "bundle/plugin.wasm"));
    const truncated = goodWasm.subarray(0, Math.floor(goodWasm.length / 2));
    const cases: { what: string; wasm: Uint8Array; meta: Record<string, unknown>; code: string; says: RegExp }[] = [
      { what: "wrong sha256", wasm: goodWasm, meta: { ...goodMeta, version: "1.1.0", sha256: "0".repeat(64) }, code: "E_BUNDLE_SHA256", says: /sha256/ },
      { what: "ABI 2 in metadata.json", wasm: goodWasm, meta: { ...goodMeta, version: "1.2.0", abi: 2 }, code: "E_BUNDLE_ABI_VERSION", says: /ABI 2/ },
      { what: "a module that speaks ABI 2", wasm: await fixtureWasm("wrong-abi"), meta: {}, code: "E_BUNDLE_ABI_VERSION", says: /sy_abi_version\(\) returned/ },
      { what: "truncated wasm (sha256 matching the truncated file)", wasm: truncated, meta: { ...goodMeta, version: "1.3.0", sha256: sha256(truncated) }, code: "E_BUNDLE_NOT_WASM", says: /does not compile/ },
      { what: "missing export", wasm: await fixtureWasm("missing-export"), meta: {}, code: "E_BUNDLE_MISSING_EXPORT", says: /sy_route/ },
      {
        what: "configure rejects the default config",
        wasm: goodWasm,
        meta: { ...goodMeta, version: "1.4.0", defaultConfig: JSON.stringify({ values: ["1"] }) },
        code: "E_BUNDLE_CONFIG_REJECTED",
        says: /rejected the default config: .*header/,
      },
    ];
    const seen: string[] = [];
    for (const c of cases) {
      const meta = Object.keys(c.meta).length > 0 ? c.meta : { ...goodMeta, version: "1.9.0", sha256: sha256(c.wasm) };
      const from = logs.length;
      // wasm first, then metadata: a folder being rewritten file by file.
      await replaceFile(join(canaryDir(), "plugin.wasm"), c.wasm);
      await replaceFile(join(canaryDir(), "metadata.json"), JSON.stringify(meta));
      // Wait for this case's own line: with the wasm replaced before metadata.json, a slow machine may first
      // see the new wasm with the previous metadata (refused for another reason, which is right too).
      const mine = (l: Record<string, unknown>) => l.event === "refused" && l.code === c.code && c.says.test(String(l.err));
      const line = await waitForLog(mine, from, c.what);
      expect(line, c.what).toMatchObject({ level: 50, msg: "plugin bundle refused", code: c.code, dir: canaryDir(), serving: "header-canary" });
      expect(String(line.err), c.what).toMatch(c.says);
      expect(String(line.err), c.what).toMatch(/^bundle (hc|header-canary): /);
      seen.push(`${c.code}: ${String(line.err)}`);
      // GET /plugins lists the refusal beside the version that keeps serving.
      expect((await plugins()).filter((p) => p.state === "refused"), c.what).toEqual([expect.objectContaining({ dir: canaryDir(), state: "refused", code: c.code, message: line.err })]);
      await expectStillServing(goodSha);
      // Refused once, not at every poll: two more passes (what each poll runs) over the same files log nothing.
      await host.watcher!.scan();
      await host.watcher!.scan();
      expect(logs.slice(from).filter(mine)).toHaveLength(1);
    }
    expect(new Set(seen).size).toBe(cases.length);

    // A good bundle after all that is swapped in.
    const from = logs.length;
    await replaceFile(join(canaryDir(), "plugin.wasm"), goodWasm);
    await replaceFile(join(canaryDir(), "metadata.json"), JSON.stringify({ ...goodMeta, version: "2.0.0" }));
    await waitForLog((l) => l.event === "swapped" && l.version === "2.0.0", from, "the good bundle");
    expect((await plugins()).map((p) => p.version)).toEqual(["2.0.0"]);
    expect((await send({ "x-canary": "1" })).upstream).toBe("canary0");
  }, 60_000);

  it("re-sorts the chain when a bundle's order changes, and unloads a removed bundle", async () => {
    // zone-affinity (order 20) joins header-canary (order 10).
    let from = logs.length;
    await cp(join(REPO, "build/plugins/zone-affinity"), join(root, "plugins", "za"), { recursive: true });
    await waitForLog((l) => l.event === "loaded" && l.plugin === "zone-affinity", from, "zone-affinity loaded");
    expect((await plugins()).map((p) => `${p.name}@${p.order}`)).toEqual(["header-canary@10", "zone-affinity@20"]);
    expect(await chainOf({ "x-canary": "1" })).toMatch(/^header-canary:3>1 zone-affinity:1>1$/);

    // The same plugin rebuilt with order 25 now runs after zone-affinity.
    from = logs.length;
    await replaceFile(join(canaryDir(), "plugin.wasm"), await readFile(join(reordered, "plugin.wasm")));
    await replaceFile(join(canaryDir(), "metadata.json"), await readFile(join(reordered, "metadata.json")));
    await waitForLog((l) => l.event === "swapped" && l.plugin === "header-canary" && l.order === 25, from, "the reordered bundle");
    expect((await plugins()).map((p) => `${p.name}@${p.order}`)).toEqual(["zone-affinity@20", "header-canary@25"]);
    expect(await chainOf({ "x-canary": "1" })).toMatch(/^zone-affinity:3>3 header-canary:3>1$/);
    expect((await send({ "x-canary": "1" })).upstream).toBe("canary0");

    // Removed: unloaded, and the route's chain is only zone-affinity (which keeps every host without x-zone).
    from = logs.length;
    await rm(canaryDir(), { recursive: true, force: true });
    await waitForLog((l) => l.event === "unloaded" && l.plugin === "header-canary", from, "header-canary unloaded");
    expect((await plugins()).map((p) => p.name)).toEqual(["zone-affinity"]);
    const hit = new Set<string>();
    for (let i = 0; i < 6; i++) hit.add((await send({ "x-canary": "1" })).upstream);
    expect([...hit].sort()).toEqual(["canary0", "stable0", "stable1"]);
  }, 60_000);
});

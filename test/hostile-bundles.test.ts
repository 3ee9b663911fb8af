// Hostile and careless bundle folders (issue 18 items 1, 6, 8, 9): real bundles (build/plugins) copied into temp
// plugins folders, a real registry and watcher, time driven by a manual clock (no sleeps).

import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_HEADERS, MAX_METADATA_BYTES, MAX_WASM_BYTES } from "../host/abi/limits.js";
import { PluginRegistry } from "../host/plugin/registry.js";
import { BundleWatcher } from "../host/plugin/watcher.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { REPO } from "./helpers/host-process.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-hostile-bundles-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Line = { level: string; msg: string } & Record<string, unknown>;
function recorder() {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, ...obj });
  return { lines, log: { info: at("info"), warn: at("warn"), error: at("error") } };
}

let n = 0;
async function pluginsDir(): Promise<string> {
  const dir = join(root, `p${n++}`, "plugins");
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The built deny bundle at `dir`, its metadata version set to `version`. */
async function deny(dir: string, version = "1.0.0"): Promise<void> {
  await cp(join(REPO, "build/plugins/deny"), dir, { recursive: true });
  const meta = JSON.parse(await readFile(join(dir, "metadata.json"), "utf8")) as Record<string, unknown>;
  await writeFile(join(dir, "metadata.json"), JSON.stringify({ ...meta, version }));
}

function watcher(dir: string, clock?: ManualClock, settleMs = 5000) {
  const registry = new PluginRegistry();
  const rec = recorder();
  const w = new BundleWatcher(dir, registry, { log: rec.log, debounceMs: 200, settleMs, pollMs: 1000, ...(clock ? { clock } : {}) });
  return { registry, w, ...rec };
}

const served = (registry: PluginRegistry) => registry.list().map((p) => `${p.name}@${p.bundle.metadata.version}:${p.bundle.dir}`);

describe("one plugin name, one folder", () => {
  it("at start the folder named after the plugin wins over a stale copy, whatever the name order", async () => {
    const dir = await pluginsDir();
    await deny(join(dir, "aa-deny"), "9.9.9");
    await deny(join(dir, "deny"), "1.0.0");
    const { registry, w, lines } = watcher(dir);
    await w.scan();
    expect(served(registry)).toEqual([`deny@1.0.0:${join(dir, "deny")}`]);
    expect(w.refused()).toEqual([expect.objectContaining({ dir: join(dir, "aa-deny"), name: "deny", code: "E_BUNDLE_DUPLICATE", message: expect.stringContaining(`provided by ${join(dir, "deny")} (the folder named after the plugin)`) })]);
    expect(lines.filter((l) => l.level === "error")).toHaveLength(1);
    // Removing the winner: the other copy takes over on the next pass, no restart.
    await rm(join(dir, "deny"), { recursive: true });
    await w.scan();
    expect(served(registry)).toEqual([`deny@9.9.9:${join(dir, "aa-deny")}`]);
    expect(w.refused()).toEqual([]);
  });

  it("mv deny deny-v2 keeps deny serving (swapped from the old folder), with no refusal and no unload", async () => {
    const dir = await pluginsDir();
    await deny(join(dir, "deny"));
    const clock = new ManualClock(Date.now() + 60_000);
    const { registry, w, lines } = watcher(dir, clock);
    await w.start();
    try {
      expect(served(registry)).toEqual([`deny@1.0.0:${join(dir, "deny")}`]);
      const generation = registry.generation;
      await rename(join(dir, "deny"), join(dir, "deny-v2"));
      await w.scan();
      expect(served(registry)).toEqual([`deny@1.0.0:${join(dir, "deny-v2")}`]);
      expect(registry.generation).toBe(generation + 1); // one swap, never a set without deny
      expect(lines.filter((l) => l.level === "error" || l.event === "unloaded")).toEqual([]);
      expect(lines.at(-1)).toMatchObject({ event: "swapped", plugin: "deny", from: join(dir, "deny"), dir: join(dir, "deny-v2") });
    } finally {
      w.stop();
    }
  });
});

describe("size limits, checked before reading", () => {
  it("refuses an oversized wasm, an oversized metadata.json and a header list over MAX_HEADERS, each with its own code", async () => {
    const dir = await pluginsDir();
    // A wasm one byte over the limit (one custom section, correct sha256).
    await deny(join(dir, "big-wasm"));
    const base = await readFile(join(dir, "big-wasm", "plugin.wasm"));
    const pad = MAX_WASM_BYTES + 1 - base.length - 6;
    const section = Buffer.alloc(6 + pad);
    section[0] = 0;
    section.writeUInt32LE(0, 1);
    const len = pad + 1; // name length byte + name "" + payload
    section.set([0x80 | (len & 0x7f), 0x80 | ((len >> 7) & 0x7f), 0x80 | ((len >> 14) & 0x7f), (len >> 21) & 0x7f], 1);
    section[5] = 0; // empty name
    const wasm = Buffer.concat([base, section]);
    expect(wasm.length).toBe(MAX_WASM_BYTES + 1);
    const meta = JSON.parse(await readFile(join(dir, "big-wasm", "metadata.json"), "utf8")) as Record<string, unknown>;
    await writeFile(join(dir, "big-wasm", "plugin.wasm"), wasm);
    await writeFile(join(dir, "big-wasm", "metadata.json"), JSON.stringify({ ...meta, name: "deny", sha256: createHash("sha256").update(wasm).digest("hex") }));
    // metadata.json over its limit (valid JSON, padded).
    await deny(join(dir, "big-meta"));
    await writeFile(join(dir, "big-meta", "metadata.json"), JSON.stringify({ ...meta, name: "big-meta", pad: "x".repeat(MAX_METADATA_BYTES) }));
    // MAX_HEADERS + 1 declared headers.
    await deny(join(dir, "many-headers"));
    await writeFile(join(dir, "many-headers", "metadata.json"), JSON.stringify({ ...meta, name: "many", headers: Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `x-h${i}`) }));
    const { registry, w } = watcher(dir);
    await w.scan();
    expect(registry.list()).toEqual([]);
    const byDir = Object.fromEntries(w.refused().map((r) => [r.dir.slice(dir.length + 1), `${r.code}: ${r.message}`]));
    expect(byDir).toEqual({
      "big-wasm": `E_BUNDLE_WASM_TOO_LARGE: bundle deny: plugin.wasm is ${MAX_WASM_BYTES + 1} bytes, over MAX_WASM_BYTES (${MAX_WASM_BYTES} bytes)`,
      "big-meta": expect.stringMatching(new RegExp(`^E_BUNDLE_METADATA_TOO_LARGE: bundle big-meta: metadata.json is \\d+ bytes, over MAX_METADATA_BYTES \\(${MAX_METADATA_BYTES} bytes\\)$`)),
      "many-headers": `E_BUNDLE_TOO_MANY_HEADERS: bundle many-headers: metadata.json: headers: ${MAX_HEADERS + 1} names, over MAX_HEADERS (${MAX_HEADERS}); omit it or use null to read every header`,
    });
  });
});

describe("symbolic links and file contents", () => {
  it("a symlinked metadata.json is refused without a byte of its target in the log; a symlinked bundle folder is followed", async () => {
    const dir = await pluginsDir();
    const secret = join(root, "admin-token");
    await writeFile(secret, "s3cr3t-admin-token-value\n");
    await deny(join(dir, "leaky"));
    await rm(join(dir, "leaky", "metadata.json"));
    await symlink(secret, join(dir, "leaky", "metadata.json"));
    // A `current -> release` deploy, the release outside the plugins folder.
    await deny(join(root, `release-${n}`), "2.0.0");
    await symlink(join(root, `release-${n}`), join(dir, "deny"));
    const { registry, w, lines } = watcher(dir);
    await w.scan();
    expect(served(registry)).toEqual([`deny@2.0.0:${join(dir, "deny")}`]);
    expect(lines.find((l) => l.event === "loaded")).toMatchObject({ target: join(root, `release-${n}`) });
    expect(w.refused()).toEqual([expect.objectContaining({ dir: join(dir, "leaky"), code: "E_BUNDLE_FILE_TYPE", message: expect.stringContaining("metadata.json is a symbolic link") })]);
    expect(JSON.stringify(lines)).not.toContain("s3cr3t");
  });

  it("a metadata.json that is not JSON is refused naming the byte offset, not quoting the text", async () => {
    const dir = await pluginsDir();
    await deny(join(dir, "garbled"));
    await writeFile(join(dir, "garbled", "metadata.json"), '{"name": s3cr3t-token}');
    const { w, lines } = watcher(dir);
    await w.scan();
    expect(w.refused()).toEqual([expect.objectContaining({ code: "E_BUNDLE_METADATA", message: "bundle garbled: metadata.json is not JSON at byte 9 (line 1, column 10): expected a value" })]);
    expect(JSON.stringify(lines)).not.toContain("s3cr3t");
  });
});

describe("a bundle copied file by file", () => {
  it("is logged below error while incomplete, loads once complete, and a bundle that stays incomplete is refused once settled", async () => {
    const dir = await pluginsDir();
    const clock = new ManualClock(Date.now());
    const { registry, w, lines } = watcher(dir, clock, 5000);
    await w.start();
    try {
      const src = join(REPO, "build/plugins/deny");
      // metadata.json first, the wasm later: a copy in progress.
      await mkdir(join(dir, "deny"));
      await cp(join(src, "metadata.json"), join(dir, "deny", "metadata.json"));
      const newest = async () => Math.max(...(await Promise.all(["metadata.json"].map(async (f) => (await stat(join(dir, "deny", f))).ctimeMs))));
      clock.advance((await newest()) + 300 - clock.now());
      await w.scan();
      expect(lines.filter((l) => l.event === "incomplete")).toEqual([expect.objectContaining({ level: "info", dir: join(dir, "deny"), code: "E_BUNDLE_NOT_WASM" })]);
      await w.scan(); // said once
      expect(lines.filter((l) => l.event === "incomplete")).toHaveLength(1);
      await cp(join(src, "plugin.wasm"), join(dir, "deny", "plugin.wasm"));
      const wasmAt = (await stat(join(dir, "deny", "plugin.wasm"))).ctimeMs;
      clock.advance(Math.max(0, wasmAt + 300 - clock.now()));
      await w.scan();
      expect(served(registry)).toEqual([`deny@1.0.0:${join(dir, "deny")}`]);
      expect(lines.filter((l) => l.level === "error")).toEqual([]);

      // One that never gets its wasm: info first, an error once it has been quiet for settleMs.
      await mkdir(join(dir, "half"));
      const meta = JSON.parse(await readFile(join(src, "metadata.json"), "utf8")) as Record<string, unknown>;
      await writeFile(join(dir, "half", "metadata.json"), JSON.stringify({ ...meta, name: "half" }));
      const halfAt = (await stat(join(dir, "half", "metadata.json"))).ctimeMs;
      clock.advance(Math.max(0, halfAt + 300 - clock.now()));
      await w.scan();
      expect(lines.filter((l) => l.level === "error")).toEqual([]);
      expect(w.refused()).toEqual([]);
      clock.advance(halfAt + 5000 - clock.now());
      await w.scan();
      expect(lines.filter((l) => l.level === "error")).toEqual([expect.objectContaining({ dir: join(dir, "half"), code: "E_BUNDLE_NOT_WASM", event: "refused" })]);
      expect(w.refused()).toEqual([expect.objectContaining({ dir: join(dir, "half"), code: "E_BUNDLE_NOT_WASM" })]);
    } finally {
      w.stop();
    }
  });
});

// The state folder: whole files replaced atomically; leftovers of an interrupted write ignored; a file that
// does not parse reported and skipped, never fatal; names encoded into file names that stay in their folder.

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../host/state/atomic-file.js";
import { StateStore } from "../host/state/store.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-state-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("StateStore", () => {
  it("round-trips configs and host lists, one file each, no temp file left", async () => {
    const store = new StateStore(join(root, "a"), () => new Date(0));
    await store.savePluginConfig("header-canary", 1, "{}");
    await store.savePluginConfig("header-canary", 2, '{"x":"é"}');
    await store.saveClusterHosts("c", 7, [{ address: "127.0.0.1:1", weight: 2, tags: { zone: "a" } }]);
    expect(await store.loadPluginConfigs()).toEqual(new Map([["header-canary", { text: '{"x":"é"}', version: 2 }]]));
    expect(await store.loadClusterHosts()).toEqual(new Map([["c", { version: 7, hosts: [{ address: "127.0.0.1:1", weight: 2, tags: { zone: "a" } }] }]]));
    expect(await readdir(join(root, "a", "plugins"))).toEqual(["header-canary.json"]);
  });

  it("ignores temp files, reports torn or wrong-shaped files and keeps going", async () => {
    const dir = join(root, "b");
    const store = new StateStore(dir);
    await store.savePluginConfig("good", 3, "ok");
    await writeFile(join(dir, "plugins", ".good.json.123.abc.tmp"), '{"name":"good","version":9,"con'); // interrupted write
    await writeFile(join(dir, "plugins", "torn.json"), '{"name":"torn","vers');
    await writeFile(join(dir, "plugins", "shape.json"), JSON.stringify({ name: "shape", version: "1", config: "x" }));
    const bad: string[] = [];
    const loaded = await store.loadPluginConfigs((file, why) => bad.push(`${file.split("/").pop()}: ${why}`));
    expect(loaded).toEqual(new Map([["good", { text: "ok", version: 3 }]]));
    expect(bad.map((b) => b.split(":")[0]).sort()).toEqual(["shape.json", "torn.json"]);
    // The interrupted write's temp file is gone; the bad files stay for an operator to look at.
    expect((await readdir(join(dir, "plugins"))).sort()).toEqual(["good.json", "shape.json", "torn.json"]);
  });

  it("a read-only store (a worker's) reads but never writes nor removes the writer's temp files", async () => {
    const dir = join(root, "ro");
    await new StateStore(dir).savePluginConfig("p", 4, "cfg");
    await writeFile(join(dir, "plugins", ".p.json.1.x.tmp"), "in progress");
    const reader = new StateStore(dir, undefined, true);
    expect(await reader.loadPluginConfigs()).toEqual(new Map([["p", { text: "cfg", version: 4 }]]));
    expect((await readdir(join(dir, "plugins"))).sort()).toEqual([".p.json.1.x.tmp", "p.json"]);
    await expect(reader.savePluginConfig("p", 5, "x")).rejects.toThrow(/read-only/);
  });

  it("encodes names into file names that stay in their folder (svc:80, outbound|80||svc, ../escape), and loads them back by the name inside", async () => {
    const store = new StateStore(join(root, "c"));
    expect((await store.loadPluginConfigs()).size).toBe(0);
    await store.savePluginConfig("../escape", 1, "x");
    await store.saveClusterHosts("svc:80", 1, []);
    await store.saveClusterHosts("outbound|80||svc.default", 2, []);
    await store.saveClusterHosts("a/b", 3, []);
    expect(await readdir(join(root, "c", "plugins"))).toEqual(["%2E.%2Fescape.json"]);
    expect((await readdir(join(root, "c", "clusters"))).sort()).toEqual(["a%2Fb.json", "outbound%7C80%7C%7Csvc.default.json", "svc%3A80.json"]);
    expect(await readdir(root)).not.toContain("escape.json");
    expect([...(await store.loadClusterHosts()).entries()].map(([n, v]) => [n, v.version]).sort()).toEqual([["a/b", 3], ["outbound|80||svc.default", 2], ["svc:80", 1]]);
    expect([...(await store.loadPluginConfigs()).keys()]).toEqual(["../escape"]);
    // State saved before names were encoded (a safe name is its own file name) loads and is overwritten in place.
    await writeFile(join(root, "c", "clusters", "old-name.json"), JSON.stringify({ cluster: "old-name", version: 7, hosts: [], savedAt: "x" }));
    expect((await store.loadClusterHosts()).get("old-name")?.version).toBe(7);
    await store.saveClusterHosts("old-name", 8, []);
    expect((await store.loadClusterHosts()).get("old-name")?.version).toBe(8);
    expect((await readdir(join(root, "c", "clusters"))).filter((f) => f.startsWith("old"))).toEqual(["old-name.json"]);
  });

  it("writeFileAtomic replaces the whole file or leaves the old one", async () => {
    const file = join(root, "d", "f.json");
    await writeFileAtomic(file, "first");
    await writeFileAtomic(file, "second, longer");
    expect(await readFile(file, "utf8")).toBe("second, longer");
    // A write into a folder that cannot take the rename fails and leaves the old file and no temp file.
    await mkdir(join(root, "d", "dir.json"));
    await writeFile(join(root, "d", "dir.json", "x"), "occupied");
    await expect(writeFileAtomic(join(root, "d", "dir.json"), "nope")).rejects.toThrow();
    expect((await readdir(join(root, "d"))).sort()).toEqual(["dir.json", "f.json"]);
  });
});

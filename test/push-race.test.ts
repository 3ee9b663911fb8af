// A bundle swap that lands while a push is being persisted. Before the per-plugin lock, the push was persisted,
// then answered 409 because the plugin had changed, and the swapped-in bundle ran the older config: a restart
// would have come back with a config nobody was told was accepted. Now the swap waits for the push and
// starts with the pushed config.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigPusher } from "../host/plugin/push.js";
import { PluginRegistry } from "../host/plugin/registry.js";
import { BundleWatcher } from "../host/plugin/watcher.js";
import { StateStore } from "../host/state/store.js";
import { canaryVariant } from "./helpers/host-process.js";

/** A real store whose writes wait for `gate`, so that a test can hold a push between configure and install. */
class GatedStore extends StateStore {
  gate: Promise<void> = Promise.resolve();
  entered = 0;
  private enter!: () => void;
  /** Settles when a write first reaches the gate. */
  readonly reached = new Promise<void>((r) => (this.enter = r));
  override async savePluginConfig(name: string, version: number, config: string): Promise<void> {
    this.entered++;
    this.enter();
    await this.gate;
    await super.savePluginConfig(name, version, config);
  }
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-push-race-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const cfg = (tagValue: string) => JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue });

describe("push and bundle swap at the same moment", () => {
  it("the swap waits for the push, and the new bundle runs the pushed config", async () => {
    const dir = join(root, "plugins", "hc");
    await canaryVariant(dir, { version: "1.0.0", tagValue: "d" });
    const registry = new PluginRegistry();
    const store = new GatedStore(join(root, "state"));
    const saved = new Map<string, { text: string; version: number }>();
    const pusher = new ConfigPusher(registry, store, (name, version, text) => saved.set(name, { text, version }));
    // The watcher's swaps take the plugin's lock; `asked` settles when the first one asks for it.
    let ask!: () => void;
    const asked = new Promise<void>((r) => (ask = r));
    let scanning = false;
    const watcher = new BundleWatcher(join(root, "plugins"), registry, {
      log: silent,
      savedConfig: (n) => saved.get(n),
      exclusive: (n, fn) => {
        if (scanning) ask();
        return pusher.exclusive(n, fn);
      },
    });
    expect((await watcher.scan()).loaded).toEqual(["header-canary"]);

    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    const push = pusher.push("header-canary", cfg("a"));
    await store.reached;
    expect(store.entered).toBe(1);

    // The bundle changes while the push is between configure and install.
    const meta = JSON.parse(await readFile(join(dir, "metadata.json"), "utf8")) as Record<string, unknown>;
    await writeFile(join(dir, "metadata.json"), JSON.stringify({ ...meta, version: "1.0.1" }));
    scanning = true;
    const scan = watcher.scan();
    await asked;
    // A turn of the event loop: a swap that did not wait for the lock would have run by now.
    await new Promise((r) => setImmediate(r));
    expect(registry.get("header-canary")?.version).toBe("1.0.0"); // the swap waits for the push's lock
    open();
    await expect(push).resolves.toEqual({ plugin: "header-canary", version: 1 });
    expect((await scan).loaded).toEqual(["header-canary"]);

    const now = registry.get("header-canary")!;
    expect({ version: now.version, configVersion: now.configVersion, config: now.config }).toEqual({ version: "1.0.1", configVersion: 1, config: cfg("a") });
    const file = JSON.parse(await readFile(join(root, "state", "plugins", "header-canary.json"), "utf8")) as { version: number; config: string };
    expect(file).toMatchObject({ version: 1, config: cfg("a") });

    // Next push continues from the swapped bundle's version.
    await expect(pusher.push("header-canary", cfg("b"), 1)).resolves.toEqual({ plugin: "header-canary", version: 2 });
    expect(registry.get("header-canary")!.version).toBe("1.0.1");
  });

  it("a config applied from the primary is kept for a bundle that appears later, and stale versions are ignored", async () => {
    const registry = new PluginRegistry();
    const saved = new Map<string, { text: string; version: number }>();
    const pusher = new ConfigPusher(registry, null, (name, version, text) => saved.set(name, { text, version }));
    await expect(pusher.apply("header-canary", 3, cfg("c"))).resolves.toBe("not-loaded");
    const plugins = join(root, "later");
    await canaryVariant(join(plugins, "hc"), { version: "1.0.0", tagValue: "d" });
    const watcher = new BundleWatcher(plugins, registry, { log: silent, savedConfig: (n) => saved.get(n), exclusive: (n, fn) => pusher.exclusive(n, fn) });
    await watcher.scan();
    expect(registry.get("header-canary")).toMatchObject({ configVersion: 3, config: cfg("c") });
    await expect(pusher.apply("header-canary", 2, cfg("b"))).resolves.toBe("stale");
    await expect(pusher.apply("header-canary", 4, cfg("a"))).resolves.toBe("applied");
    expect(registry.get("header-canary")).toMatchObject({ configVersion: 4, config: cfg("a") });
  });
});

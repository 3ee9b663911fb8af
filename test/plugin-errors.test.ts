// The coded errors of bundles and of forwarding, tested as sets, on one base (SwitchyardError): every code a list names is thrown
// somewhere in host/, and every code host/ throws under that prefix is in its list (a code made up on the
// spot, as Object.assign(new Error(…), {code}) once made E_BUNDLE_DUPLICATE, fails here). Then the bundle
// codes a reader can provoke with a real bundle folder.

import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBundle } from "../host/plugin/bundle.js";
import { BUNDLE_ERROR_CODES } from "../host/plugin/errors.js";
import { BUILD_ERROR_CODES } from "../host/build/errors.js";
import { CONFIG_ERROR_CODES } from "../host/config/errors.js";
import { SANDBOX_ERROR_CODES, SandboxError } from "../host/sandbox/errors.js";
import { HOST_ERROR_CODES } from "../host/server/errors.js";
import { watToWasm } from "../bench/wat.js";
import { PROXY_ERROR_CODES } from "../host/proxy/errors.js";
import { ADMIN_ERROR_CODES, statusOf } from "../host/admin/errors.js";
import { ClusterError } from "../host/cluster/errors.js";
import { ConfigError } from "../host/config/errors.js";
import { PushError } from "../host/plugin/push.js";
import { ProxyError } from "../host/proxy/errors.js";
import { HostError } from "../host/server/errors.js";
import { ReloadRefused } from "../host/server/reload.js";
import { SwitchyardError } from "../host/util/coded-error.js";

const REPO = new URL("../", import.meta.url).pathname;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith(".ts")) out.push(await readFile(p, "utf8"));
  }
  return out;
}

/** How often each code matching `re` is written as a string literal in host/. */
async function literals(re: RegExp): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const text of await sources(join(REPO, "host"))) for (const m of text.matchAll(re)) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  return counts;
}

describe("error codes as sets", () => {
  it.each([
    ["bundle", BUNDLE_ERROR_CODES, /"(E_BUNDLE_[A-Z0-9_]+)"/g],
    ["admin", ADMIN_ERROR_CODES, /"(E_ADMIN_[A-Z0-9_]+)"/g],
    ["proxy", PROXY_ERROR_CODES, /"(E_(?:UPSTREAM|ROUTE|NO_HOST|CLIENT|POOLS?|REQUEST|FORWARD)[A-Z0-9_]*)"/g],
    ["sandbox", SANDBOX_ERROR_CODES, /"(E_SANDBOX_[A-Z0-9_]+)"/g],
    ["config", CONFIG_ERROR_CODES, /"(E_CONFIG_[A-Z0-9_]+)"/g],
    ["build", BUILD_ERROR_CODES, /"(E_BUILD_[A-Z0-9_]+)"/g],
    ["host", HOST_ERROR_CODES, /"(E_HOSTS_NOT_JSON|E_LISTEN|E_PLUGINS_DIR)"/g],
  ] as const)("the %s codes listed are the codes thrown", async (_, list, re) => {
    const counts = await literals(re);
    expect([...counts.keys()].sort()).toEqual([...list].sort());
    // Once in the list and at least once where it is thrown.
    expect(list.filter((c) => (counts.get(c) ?? 0) < 2)).toEqual([]);
  });
});

describe("one coded error base", () => {
  it("host/ makes its coded errors from SwitchyardError (host/util/coded-error.ts), never by assigning a code to an Error", async () => {
    const assigned: string[] = [];
    for (const text of await sources(join(REPO, "host"))) for (const m of text.matchAll(/Object\.assign\(new Error\([^;]*?code: "(E_[A-Z0-9_]+)"/g)) assigned.push(m[1]!);
    expect(assigned).toEqual([]);
    // Every layer's base is the one base.
    const bases = [ClusterError, ConfigError, ProxyError, ReloadRefused, HostError, PushError];
    expect(bases.filter((c) => !(c.prototype instanceof SwitchyardError)).map((c) => c.name)).toEqual([]);
  });

  it("the admin API decides the status of another layer's code, and only there", async () => {
    expect(["E_PUSH_UNKNOWN_PLUGIN", "E_PUSH_VERSION_MISMATCH", "E_PUSH_TOO_LARGE", "E_PUSH_NOT_TEXT", "E_CLUSTER_NOT_FOUND", "E_HOST_INVALID"].map(statusOf)).toEqual([404, 409, 413, 400, 404, 400]);
    // No error class of another layer carries an HTTP status for the admin API to read.
    const push = new PushError("E_PUSH_TOO_LARGE", "x") as unknown as Record<string, unknown>;
    expect(push["httpStatus"]).toBeUndefined();
    const texts = await sources(join(REPO, "host"));
    expect(texts.filter((t) => /endsWith\("NOT_FOUND"\)/.test(t))).toEqual([]);
  });
});

describe("bundle codes from real bundle folders", () => {
  async function edited(edit: (meta: Record<string, unknown>) => void): Promise<unknown> {
    const dir = await mkdtemp(join(tmpdir(), "switchyard-errors-"));
    try {
      await cp(join(REPO, "build/plugins/deny"), dir, { recursive: true });
      const meta = JSON.parse(await readFile(join(dir, "metadata.json"), "utf8")) as Record<string, unknown>;
      edit(meta);
      await writeFile(join(dir, "metadata.json"), JSON.stringify(meta));
      return await loadBundle(dir).then(() => null, (e: unknown) => e);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("a name the module does not say is E_BUNDLE_NAME_MISMATCH, an order it does not say E_BUNDLE_ORDER_MISMATCH", async () => {
    expect(await edited((m) => (m.name = "other"))).toMatchObject({ code: "E_BUNDLE_NAME_MISMATCH", message: expect.stringContaining('sy_name() says "deny", metadata.json says "other"') });
    expect(await edited((m) => (m.order = 99))).toMatchObject({ code: "E_BUNDLE_ORDER_MISMATCH", message: expect.stringContaining("sy_order() says 5, metadata.json says 99") });
  });

  it("a metadata.json field of the wrong type is E_BUNDLE_METADATA naming the field", async () => {
    expect(await edited((m) => (m.order = "5"))).toMatchObject({ code: "E_BUNDLE_METADATA", message: expect.stringContaining("order") });
  });

  /** deny's bundle loaded with a sandbox transform of the test's own: what the sandbox hands back is what runs. */
  async function transformed(transform: () => Uint8Array): Promise<unknown> {
    return loadBundle(join(REPO, "build/plugins/deny"), { transform }).then(() => null, (e: unknown) => e);
  }

  it("a module the sandbox refuses is E_BUNDLE_SANDBOX naming the sandbox's own code", async () => {
    const e = await transformed(() => {
      throw new SandboxError("E_SANDBOX_OPTIONS", "maxMemoryPages", "expected an integer in 1..65536, got 0");
    });
    expect(e).toMatchObject({ code: "E_BUNDLE_SANDBOX", message: expect.stringContaining("the sandbox refused the module (E_SANDBOX_OPTIONS): sandbox: maxMemoryPages") });
  });

  it("a module whose start function traps is E_BUNDLE_START, instantiation failed; one whose sy_name traps, probing failed", async () => {
    const startTraps = watToWasm(`(module (memory (export "memory") 1) (func $boom unreachable) (start $boom))`);
    expect(await transformed(() => startTraps)).toMatchObject({ code: "E_BUNDLE_START", message: expect.stringContaining("instantiation failed: ") });
    const nameTraps = watToWasm(`(module (memory (export "memory") 1)
      (func (export "sy_abi_version") (result i32) (i32.const 1))
      (func (export "sy_name") (result i32) unreachable)
      (func (export "sy_order") (result i32) (i32.const 5)))`);
    expect(await transformed(() => nameTraps)).toMatchObject({ code: "E_BUNDLE_START", message: expect.stringContaining("probing the module failed: ") });
  });
});

// Headers decided at configure (sdk/ABI.md §4.4), through the harness and the real sy_headers call: the
// config-header fixture reads the header its config names and answers "<header>=<value>". plugin.json's
// ["x-a"] is the default; a configure can declare its own list or every header; reading a header the host
// does not write is a failure naming it, never a silent null; a list the host cannot use refuses the config.

import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { loadBundle, type TestPlugin } from "../sdk/harness/index.js";
import { PluginFailure } from "../host/plugin/errors.js";

const REPO = new URL("../", import.meta.url).pathname;
const HOSTS = [{ address: "127.0.0.1:1", tags: {} }];
const BOTH = { headers: { "x-a": "1", "x-b": "2" } };

describe("headers declared at configure", () => {
  let p: TestPlugin;
  beforeAll(async () => {
    p = await loadBundle(join(REPO, "test/fixtures/config-header/bundle"));
  });

  test("without a declaration the bundle's list applies", () => {
    expect(p.headers).toEqual(["x-a"]);
    expect(p.route(BOTH, HOSTS).body).toBe("x-a=1");
  });

  test("a configure that declares the config's header gets exactly that header", () => {
    expect(p.configure(JSON.stringify({ header: "x-b", declare: "config" }))).toEqual({ ok: true });
    expect(p.headers).toEqual(["x-b"]);
    expect(p.route(BOTH, HOSTS).body).toBe("x-b=2");
    // Declared but absent from the request: null, as always.
    expect(p.route({ headers: { "x-a": "1" } }, HOSTS).body).toBe("x-b=null");
  });

  test("declaring every header", () => {
    expect(p.configure(JSON.stringify({ header: "x-b", declare: "all" }))).toEqual({ ok: true });
    expect(p.headers).toBeNull();
    expect(p.route(BOTH, HOSTS).body).toBe("x-b=2");
  });

  test("reading a header neither the config nor plugin.json declares fails naming it", () => {
    expect(p.configure(JSON.stringify({ header: "x-b", declare: "none" }))).toEqual({ ok: true });
    expect(p.headers).toEqual(["x-a"]);
    let err: unknown;
    try {
      p.route(BOTH, HOSTS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PluginFailure);
    expect((err as PluginFailure).kind).toBe("abort");
    expect((err as PluginFailure).message).toMatch(/header "x-b" is not declared, so the host never writes it/);
  });

  test("a declared name that is not an HTTP header name refuses the config", () => {
    p.configure();
    const r = p.configure(JSON.stringify({ header: "x-b", declare: "bad" }));
    expect(r).toEqual({ ok: false, message: 'configure declared header "bad name", not an HTTP header name' });
  });
});

// The host's direct call of a component's core `route` (host/abi/component-route.ts, found by
// host/plugin/component-core.ts): every answer shape of result<answer, string> read back exactly, imports
// called during it, the post-return function called once per call after the answer was read, and a result
// area outside the component's memory refused as the plugin's bad answer. Real components from WAT through
// jco's wasm-tools (test/fixtures/components.ts); the harness runs them through the host's own loader.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComponentGuestExports } from "../host/abi/component-guest.js";
import type { GuestCode } from "../host/abi/guest.js";
import { loadBundle as loadVerified } from "../host/plugin/bundle.js";
import { loadBundle, type HostSpec } from "../sdk/harness/index.js";
import { REPO } from "./fixtures/bundles.js";
import { stubComponent, writeComponentBundle } from "./fixtures/components.js";

let root: string;
let n = 0;
const next = () => join(root, `b${n++}`);
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-component-route-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const hosts: HostSpec[] = [0, 1, 2, 3].map((i) => ({ address: `127.0.0.${i + 1}:80`, weight: 1, tags: {}, healthy: true }));
const sink = { enabled: () => false, log: () => {} };

async function directly(dir: string, routeThroughGlue = false): Promise<boolean> {
  const b = await loadVerified(dir, { routeThroughGlue });
  return ((b.module as GuestCode).instantiate(sink) as ComponentGuestExports).routesDirectly;
}

// The ret area at 64 (the stub's): result ok @64, verdict @68, then the case's fields, metadata @84/@88.
const ret = (fields: string) => `(i32.store8 (i32.const 64) (i32.const 0)) ${fields} (return (i32.const 64))`;

describe("route on the component's core export", () => {
  it("is how the host calls every example component and the stub; jco's glue only when asked", async () => {
    const stub = await writeComponentBundle(next(), await stubComponent());
    expect(await directly(stub)).toBe(true);
    expect(await directly(stub, true)).toBe(false);
    expect(await directly(join(REPO, "build/component-plugins/header-canary"))).toBe(true);
  }, 120_000);

  it("reads kept indices, reject with body and metadata, wait and err exactly", async () => {
    // kept indices(3, 1) from the offered list the host lowered (its 2nd and 4th entries).
    const indices = await loadBundle(await writeComponentBundle(next(), await stubComponent({
      route: ret(`(i32.store8 (i32.const 68) (i32.const 0)) (i32.store8 (i32.const 72) (i32.const 1))
        (i32.store (i32.const 1024) (i32.load (i32.add (local.get 10) (i32.const 12))))
        (i32.store (i32.const 1028) (i32.load (i32.add (local.get 10) (i32.const 4))))
        (i32.store (i32.const 76) (i32.const 1024)) (i32.store (i32.const 80) (i32.const 2))
        (i32.store (i32.const 84) (i32.const 0)) (i32.store (i32.const 88) (i32.const 0))`),
    })));
    expect(indices.route({}, hosts, [0, 1, 2, 3]).kept).toEqual([1, 3]);
    // reject 403, body "stub failed on purpose", metadata set=hosts (from the data at 256: "set-hosts").
    const reject = await loadBundle(await writeComponentBundle(next(), await stubComponent({
      route: ret(`(i32.store8 (i32.const 68) (i32.const 1)) (i32.store16 (i32.const 72) (i32.const 403))
        (i32.store (i32.const 76) (i32.const 272)) (i32.store (i32.const 80) (i32.const 22))
        (i32.store (i32.const 512) (i32.const 256)) (i32.store (i32.const 516) (i32.const 3))
        (i32.store (i32.const 520) (i32.const 260)) (i32.store (i32.const 524) (i32.const 5))
        (i32.store (i32.const 84) (i32.const 512)) (i32.store (i32.const 88) (i32.const 1))`),
    })));
    expect(reject.route({}, hosts)).toMatchObject({ verdict: "reject", status: 403, body: "stub failed on purpose", metadata: { set: "hosts" } });
    // wait: its ms is the method's length the host lowered ("PATCH": 5).
    const wait = await loadBundle(await writeComponentBundle(next(), await stubComponent({
      route: ret(`(i32.store8 (i32.const 68) (i32.const 2)) (i32.store (i32.const 72) (local.get 2))
        (i32.store (i32.const 84) (i32.const 0)) (i32.store (i32.const 88) (i32.const 0))`),
    })));
    expect(wait.route({ method: "PATCH" }, hosts)).toMatchObject({ verdict: "wait", waitMs: 5 });
    // err(message): the call fails with the plugin's message.
    const err = await loadBundle(await writeComponentBundle(next(), await stubComponent({
      route: `(i32.store8 (i32.const 64) (i32.const 1)) (i32.store (i32.const 68) (i32.const 272)) (i32.store (i32.const 72) (i32.const 22)) (return (i32.const 64))`,
    })));
    expect(() => err.route({}, hosts)).toThrow(/failed \(abort\): route: stub failed on purpose/);
  }, 120_000);

  it("lowers the request's strings and headers as UTF-8 (ptr, len) pairs the guest can read", async () => {
    // Answers reject with the first header's value as the body and its name as a metadata key.
    const echo = await loadBundle(await writeComponentBundle(next(), await stubComponent({
      route: ret(`(i32.store8 (i32.const 68) (i32.const 1)) (i32.store16 (i32.const 72) (i32.const 200))
        (i32.store (i32.const 76) (i32.load offset=8 (local.get 7))) (i32.store (i32.const 80) (i32.load offset=12 (local.get 7)))
        (i32.store (i32.const 512) (i32.load (local.get 7))) (i32.store (i32.const 516) (i32.load offset=4 (local.get 7)))
        (i32.store (i32.const 520) (local.get 5)) (i32.store (i32.const 524) (local.get 6))
        (i32.store (i32.const 84) (i32.const 512)) (i32.store (i32.const 88) (i32.const 1))`),
    }), { headers: ["x-e"] }));
    const r = echo.route({ authority: "ünï.example", headers: { "x-e": "ça va ✓" } }, hosts);
    expect(r).toMatchObject({ verdict: "reject", status: 200, body: "ça va ✓", metadata: { "x-e": "ünï.example" } });
  }, 120_000);

  it("calls cabi_post_route once per call, after the answer was read", async () => {
    // post-return counts into a global; route answers wait(1 + that count), so call k answers k.
    const p = await loadBundle(await writeComponentBundle(next(), await stubComponent({
      fields: `(global $posts (mut i32) (i32.const 0))
        (func (export "cabi_post_route") (param i32) (global.set $posts (i32.add (global.get $posts) (i32.const 1)))
          (i32.store (i32.const 72) (i32.const 0)))`,
      route: ret(`(i32.store8 (i32.const 68) (i32.const 2)) (i32.store (i32.const 72) (i32.add (global.get $posts) (i32.const 1)))
        (i32.store (i32.const 84) (i32.const 0)) (i32.store (i32.const 88) (i32.const 0))`),
    })));
    expect([1, 2, 3].map(() => p.route({}, hosts).waitMs)).toEqual([1, 2, 3]);
  }, 120_000);

  it("a result area or list outside the component's memory is the plugin's bad answer", async () => {
    const far = await loadBundle(await writeComponentBundle(next(), await stubComponent({ route: "(return (i32.const 0x7ffffff0))" })));
    expect(() => far.route({}, hosts)).toThrow(/failed \(answer\): route: invalid answer: route result area at 2147483632 runs past the end of memory/);
    const list = await loadBundle(await writeComponentBundle(next(), await stubComponent({
      route: ret(`(i32.store8 (i32.const 68) (i32.const 0)) (i32.store8 (i32.const 72) (i32.const 1))
        (i32.store (i32.const 76) (i32.const 65532)) (i32.store (i32.const 80) (i32.const 2))
        (i32.store (i32.const 84) (i32.const 0)) (i32.store (i32.const 88) (i32.const 0))`),
    })));
    expect(() => list.route({}, hosts)).toThrow(/failed \(answer\): route: invalid answer: route the kept indices \(2 at 65532\) run past the end of memory/);
  }, 120_000);
});

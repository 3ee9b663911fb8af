// The instrumenter's child process (host/sandbox/instrumenter.ts): the same module out as in-process
// instrument() gives, refusals carried back with their code, the child let go when idle and started again
// on the next job, and binaryen never loaded into the host process by the host's sandbox options.

import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { SandboxError } from "../host/sandbox/errors.js";
import { watToWasm } from "../bench/wat.js";
import { instrument } from "../host/sandbox/instrument.js";
import { ChildInstrumenter } from "../host/sandbox/instrumenter.js";

const PLUGIN = "build/plugins/header-canary/plugin.wasm";
let inst: ChildInstrumenter | undefined;
afterEach(() => inst?.close());

describe("ChildInstrumenter", () => {
  it("gives the bytes in-process instrument() gives, and its info", async () => {
    inst = new ChildInstrumenter();
    const wasm = new Uint8Array(readFileSync(PLUGIN));
    const out = await inst.instrument(wasm, { maxMemoryPages: 64 });
    const local = instrument(wasm, { maxMemoryPages: 64 });
    expect(Buffer.from(out.wasm).equals(Buffer.from(local.wasm))).toBe(true);
    expect(out.info).toMatchObject({ bytesIn: wasm.length, bytesOut: local.wasm.length, loops: local.info.loops });
  });

  it("carries a refusal back as the SandboxError with its code", async () => {
    inst = new ChildInstrumenter();
    const err = await inst.instrument(watToWasm("(module (memory 3))"), { maxMemoryPages: 2 }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxError);
    expect(err).toMatchObject({ code: "E_SANDBOX_MEMORY_INITIAL", message: "sandbox: memory 0: initial size 3 pages is above the cap of 2 pages" });
    const notWasm = await inst.instrument(new Uint8Array([1, 2, 3]), { maxMemoryPages: 2 }).then(() => null, (e: unknown) => e);
    expect(notWasm).toMatchObject({ code: "E_SANDBOX_NOT_WASM" });
  });

  it("lets the child go when idle and starts another for the next job", async () => {
    inst = new ChildInstrumenter(50);
    const wasm = watToWasm('(module (memory 1) (func (export "f")))');
    await inst.instrument(wasm, { maxMemoryPages: 2 });
    expect(inst.running).toBe(true);
    // Let go after its 50 ms idle timer: waited for turn by turn of the event loop, not for a fixed time.
    const deadline = Date.now() + 5_000;
    while (inst.running && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(inst.running).toBe(false);
    expect((await inst.instrument(wasm, { maxMemoryPages: 2 })).wasm.length).toBeGreaterThan(wasm.length);
  });

  it("a job sent right after the idle child was let go is not failed by that child's exit", async () => {
    // The let-go child exits a few ms after its disconnect, while the new child is still loading binaryen:
    // its exit once failed every pending job, the new child's too (a bundle reload refused for nothing).
    inst = new ChildInstrumenter(1);
    const wasm = watToWasm('(module (memory 1) (func (export "f")))');
    for (let round = 0; round < 3; round++) {
      await inst.instrument(wasm, { maxMemoryPages: 2 });
      const deadline = Date.now() + 5_000;
      while (inst.running && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      expect(inst.running).toBe(false);
      expect((await inst.instrument(wasm, { maxMemoryPages: 2 })).wasm.length).toBeGreaterThan(wasm.length);
    }
  });

  it("a child killed mid-job fails the job with E_SANDBOX_INSTRUMENTER; the next job works", async () => {
    inst = new ChildInstrumenter();
    const wasm = new Uint8Array(readFileSync(PLUGIN));
    const job = inst.instrument(wasm, { maxMemoryPages: 64 });
    inst.close();
    await expect(job).rejects.toMatchObject({ code: "E_SANDBOX_INSTRUMENTER" });
    expect((await inst.instrument(wasm, { maxMemoryPages: 64 })).wasm.length).toBeGreaterThan(0);
  });
});

describe("the host's sandbox", () => {
  it("loads a sandboxed bundle without binaryen in its own process (RSS far below binaryen's ~115 MiB)", () => {
    // Importing binaryen alone takes a node process from ~40 to ~115 MiB of RSS (measured on node 20 here);
    // ESM has no module cache to ask, so the process's RSS tells whether binaryen was loaded in it.
    const script = `
      const { loadBundle } = await import("./dist/host/plugin/bundle.js");
      const { sandboxOptions } = await import("./dist/host/sandbox/options.js");
      const b = await loadBundle("build/plugins/header-canary", { transform: sandboxOptions().transform });
      const metered = WebAssembly.Module.exports(b.module).some((e) => e.name === "sy_fuel_set");
      console.log(JSON.stringify({ metered, rssMiB: Math.round(process.memoryUsage().rss / 1048576) }));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    const r = JSON.parse(out.trim().split("\n").pop()!) as { metered: boolean; rssMiB: number };
    expect(r.metered).toBe(true);
    expect(r.rssMiB).toBeLessThan(90);
  });
});

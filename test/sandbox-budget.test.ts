// The host side of the budget: ms → fuel, arming, and telling budget / memory / trap apart after a failed call,
// on modules built from WAT and on a real AssemblyScript module compiled by asc; and the event loop going on
// while runaway calls are cut off.

import { monitorEventLoopDelay } from "node:perf_hooks";
import asc from "assemblyscript/asc";
import { beforeAll, describe, expect, test } from "vitest";
import { Guest } from "../host/abi/guest.js";
import { DEFAULT_CPU_MS, FUEL_PER_MS, FuelBudget, MAX_CPU_MS, callFuel, fuelForMs } from "../host/sandbox/budget.js";
import { SandboxError } from "../host/sandbox/errors.js";
import { type SandboxExports, sandboxExportsOf } from "../host/sandbox/exports.js";
import { LOOPS_WAT, watToWasm } from "../bench/wat.js";
import { instrument } from "../host/sandbox/instrument.js";
import { SandboxClassifier, SandboxMeter, sandboxTransform } from "../host/sandbox/plugin-hooks.js";

// The budget of the wall-clock checks here: these tests run without the host's engine settings (so a fresh
// module runs in the baseline tier) on a shared machine, and bound times, so they use a fixed fuel (the old
// 5 ms default) rather than cpuMs. What cpuMs lasts on the host's tier is measured by `make bench` (sandbox).
const RUNAWAY_FUEL = 2_500_000;

type Ex = SandboxExports & Record<string, (...a: number[]) => number> & { memory?: WebAssembly.Memory };

function load(wasm: Uint8Array, pages: number, imports: WebAssembly.Imports = {}): Ex {
  const out = instrument(wasm, { maxMemoryPages: pages }).wasm;
  return new WebAssembly.Instance(new WebAssembly.Module(out), imports).exports as unknown as Ex;
}

/** Calls `fn`, returns what it threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to throw");
}

describe("ms → fuel", () => {
  test("conversion and its bounds", () => {
    expect(fuelForMs(1)).toBe(FUEL_PER_MS);
    expect(fuelForMs(2.5)).toBe(2.5 * FUEL_PER_MS);
    expect(fuelForMs(MAX_CPU_MS)).toBeLessThanOrEqual(0x7fffffff);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, MAX_CPU_MS + 1]) {
      const err = thrown(() => fuelForMs(bad));
      expect(err).toBeInstanceOf(SandboxError);
      expect((err as SandboxError).code).toBe("E_SANDBOX_OPTIONS");
      expect((err as SandboxError).message).toContain("budget.cpuMs");
    }
  });

  test("a bundle's budget: the smaller of fuel and cpuMs, else the default", () => {
    expect(callFuel({})).toBe(DEFAULT_CPU_MS * FUEL_PER_MS);
    expect(callFuel({ fuel: 1000 })).toBe(1000);
    expect(callFuel({ cpuMs: 1, fuel: 10 * FUEL_PER_MS })).toBe(FUEL_PER_MS);
    expect(callFuel({ cpuMs: 10, fuel: 123 })).toBe(123);
    expect((thrown(() => callFuel({ fuel: 1.5 })) as SandboxError).message).toContain("budget.fuel");
    expect((thrown(() => new FuelBudget(0)) as SandboxError).code).toBe("E_SANDBOX_OPTIONS");
  });
});

describe("classification", () => {
  const TRAPS_WAT = `(module (memory (export "memory") 1 64)
    (func (export "boom") (unreachable))
    (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
    (func $deep (export "deep") (param i32) (result i32) (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
    (func (export "hog") (loop $l (if (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0)) (then unreachable)) (br $l))))`;

  test("an infinite loop with a 2.5M-fuel budget traps within 100 ms, classified budget", () => {
    const ex = load(watToWasm(LOOPS_WAT), 1);
    const budget = new FuelBudget(RUNAWAY_FUEL);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      budget.arm(ex);
      const t0 = performance.now();
      const err = thrown(() => ex.spin!());
      times.push(performance.now() - t0);
      const f = budget.classify(err, ex);
      expect(f.kind).toBe("budget");
      expect(f.message).toMatch(/out of fuel.*unreachable/);
      expect(f.fuelLeft).toBeLessThan(0);
    }
    console.log(`spin with a 2.5M-fuel budget trapped after ${times.map((t) => t.toFixed(1)).join(", ")} ms (first call runs in V8's baseline tier)`);
    expect(Math.max(...times)).toBeLessThan(100);
  });

  test("memory growth past the cap is memory; a plain trap, a division by zero and a stack overflow are traps", () => {
    const ex = load(watToWasm(TRAPS_WAT), 8);
    const budget = new FuelBudget(10_000_000, 8);
    budget.arm(ex);
    const mem = budget.classify(thrown(() => ex.hog!()), ex, [ex.memory]);
    expect(mem.kind).toBe("memory");
    expect(mem.message).toBe("memory.grow by 1 pages refused at 8 pages: past its cap of 8 pages (unreachable)");
    expect(mem.deniedPages).toBe(1);

    budget.arm(ex);
    expect(budget.classify(thrown(() => ex.boom!()), ex)).toMatchObject({ kind: "trap", message: "unreachable", deniedPages: 0 });
    budget.arm(ex);
    expect(budget.classify(thrown(() => ex.div!(0)), ex).kind).toBe("trap");
    // Enough fuel that the engine's stack runs out first.
    const big = new FuelBudget(0x7fffffff);
    big.arm(ex);
    const deep = big.classify(thrown(() => ex.deep!(0)), ex);
    expect(deep).toMatchObject({ kind: "trap" });
    expect(deep.message).toMatch(/^stack overflow/);
    // Without an instance (a start function that trapped) there is nothing to read.
    expect(budget.classify(new WebAssembly.RuntimeError("unreachable"), null)).toMatchObject({ kind: "trap", fuelLeft: null });
  });

  test("used() reports the fuel a normal call burned", () => {
    const ex = load(watToWasm(LOOPS_WAT), 1);
    const budget = new FuelBudget(1_000_000);
    budget.arm(ex);
    ex.count!(100);
    const u100 = budget.used(ex);
    budget.arm(ex);
    ex.count!(200);
    expect(budget.used(ex)).toBeGreaterThan(u100);
    expect(u100).toBeGreaterThan(100);
  });
});

describe("an AssemblyScript module (asc, --runtime incremental)", () => {
  const SOURCE = `
let keep: Array<Uint8Array> = [];
export function hog(n: i32): i32 { for (let i = 0; i < n; i++) keep.push(new Uint8Array(65536)); return keep.length; }
export function spin(): i32 { let x = 0; while (x >= 0) { x = (x + 1) & 0x3fffffff; } return x; }
export function add(a: i32, b: i32): i32 { return a + b; }
`;
  let wasm: Uint8Array;
  beforeAll(async () => {
    const files: Record<string, Uint8Array | string> = {};
    const { error, stderr } = await asc.main(["plugin.ts", "--outFile", "plugin.wasm", "--runtime", "incremental", "-O2"], {
      readFile: (name: string) => (name === "plugin.ts" ? SOURCE : null),
      writeFile: (name: string, data: Uint8Array | string) => {
        files[name] = data;
      },
      listFiles: () => [],
    });
    if (error) throw new Error(`asc failed: ${stderr.toString()}`);
    wasm = files["plugin.wasm"] as Uint8Array;
  }, 60_000);

  function instance(pages: number): { ex: Ex; aborts: string[] } {
    const aborts: string[] = [];
    const ex = load(wasm, pages, {
      env: {
        abort: (msg: number) => {
          aborts.push(String(msg));
          throw new Error("abort");
        },
      },
    });
    return { ex, aborts };
  }

  test("its results are unchanged and its allocator's failed grow is classified memory", () => {
    const { ex } = instance(16);
    const budget = new FuelBudget(fuelForMs(50), 16);
    budget.arm(ex);
    expect(ex.add!(2, 40)).toBe(42);
    budget.arm(ex);
    expect(ex.hog!(4)).toBe(4);
    budget.arm(ex);
    const f = budget.classify(thrown(() => ex.hog!(100)), ex, [ex.memory]);
    expect(f.kind).toBe("memory");
    expect(ex.memory!.buffer.byteLength).toBeLessThanOrEqual(16 * 65_536);
  });

  test("its infinite loop is cut by the budget", () => {
    const { ex } = instance(16);
    const budget = new FuelBudget(RUNAWAY_FUEL);
    budget.arm(ex);
    const t0 = performance.now();
    const f = budget.classify(thrown(() => ex.spin!()), ex);
    expect(f.kind).toBe("budget");
    expect(performance.now() - t0).toBeLessThan(100);
  });
});

test("the event loop keeps serving while runaway calls are cut off every few ms", async () => {
  const ex = load(watToWasm(LOOPS_WAT), 1);
  const budget = new FuelBudget(RUNAWAY_FUEL);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const lateness: number[] = [];
  // A timer set to fire every 10 ms records how late it fires while the runaway calls go on.
  const due = { at: performance.now() + 10 };
  const ticker = setInterval(() => {
    lateness.push(performance.now() - due.at);
    due.at = performance.now() + 10;
  }, 10);
  const calls = { n: 0, budget: 0 };
  const deadline = performance.now() + 2_000;
  // Bounded in count (40 calls) and time (2 s).
  while (calls.n < 40 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 3));
    budget.arm(ex);
    const f = budget.classify(thrown(() => ex.spin!()), ex);
    calls.n++;
    if (f.kind === "budget") calls.budget++;
  }
  clearInterval(ticker);
  histogram.disable();
  const maxDelayMs = histogram.max / 1e6;
  const worst = Math.max(...lateness);
  console.log(
    `event loop during ${calls.n} runaway calls (2.5M-fuel budget): delay p50 ${(histogram.percentile(50) / 1e6).toFixed(1)} ms, max ${maxDelayMs.toFixed(1)} ms; 10 ms timer fired ${lateness.length} times, at worst ${worst.toFixed(1)} ms late`,
  );
  expect(calls.budget).toBe(calls.n);
  expect(calls.n).toBe(40);
  expect(lateness.length).toBeGreaterThan(5);
  // Each runaway call holds the loop for about its budget; generous slack for a loaded 2-core machine.
  expect(worst).toBeLessThan(100);
  expect(maxDelayMs).toBeLessThan(100);
});

describe("hooks for host/plugin", () => {
  const GUEST_WAT = `(module (memory (export "memory") 1 4)
    (func (export "spin") (loop $l (br $l)))
    (func (export "boom") (unreachable))
    (func (export "hog") (loop $l (if (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0)) (then unreachable)) (br $l))))`;
  const silent = { enabled: () => false, log: () => undefined };

  test("SandboxMeter arms a real Guest; SandboxClassifier names budget, memory and trap", () => {
    const budget = new FuelBudget(100_000, 4);
    const meter = new SandboxMeter(budget);
    const classifier = new SandboxClassifier(budget);
    const guest = Guest.instantiate(new WebAssembly.Module(instrument(watToWasm(GUEST_WAT), { maxMemoryPages: 4 }).wasm), silent);
    const g = guest.exports as unknown as Ex;
    meter.arm(guest);
    expect(sandboxExportsOf(guest.exports as unknown as WebAssembly.Exports)!.sy_fuel_left()).toBe(100_000);
    expect(classifier.classify(thrown(() => g.spin!()), guest).kind).toBe("budget");
    meter.arm(guest);
    expect(classifier.classify(thrown(() => g.hog!()), guest).kind).toBe("memory");
    meter.arm(guest);
    expect(classifier.classify(thrown(() => g.boom!()), guest)).toEqual({ kind: "trap", detail: "unreachable" });
  });

  test("SandboxMeter refuses a guest whose module was not instrumented", () => {
    const guest = Guest.instantiate(new WebAssembly.Module(watToWasm(GUEST_WAT)), silent);
    const err = thrown(() => new SandboxMeter(new FuelBudget(10)).arm(guest));
    expect((err as SandboxError).code).toBe("E_SANDBOX_OPTIONS");
  });

  test("sandboxTransform uses the bundle's memory cap and names the bundle in a refusal", async () => {
    const transform = sandboxTransform(instrument, 2);
    const meta = (pages?: number) => ({ name: "hog", budget: pages === undefined ? {} : { memoryPages: pages } });
    const ex = new WebAssembly.Instance(new WebAssembly.Module(await transform(watToWasm(GUEST_WAT), meta(3))), {}).exports as unknown as Ex;
    expect(ex.memory!.grow(2)).toBe(1);
    expect(() => ex.memory!.grow(1)).toThrow(RangeError);
    const err = await transform(watToWasm(`(module (memory 3))`), meta()).then(() => null, (e: unknown) => e);
    expect((err as SandboxError).code).toBe("E_SANDBOX_MEMORY_INITIAL");
    expect((err as SandboxError).message).toBe("sandbox: bundle hog: memory 0: initial size 3 pages is above the cap of 2 pages");
  });
});

// instrument(): results unchanged, exports and imports kept, loops and recursion metered, memory capped,
// and every kind of refused input gets its own code. Modules are real wasm built from WAT by binaryen.

import { describe, expect, test } from "vitest";
import { SANDBOX_ERROR_CODES, SandboxError } from "../host/sandbox/errors.js";
import { SANDBOX_EXPORTS, type SandboxExports } from "../host/sandbox/exports.js";
import { LOOPS_WAT, ROUTE_WAT, watToWasm } from "../bench/wat.js";
import { instrument } from "../host/sandbox/instrument.js";

type Ex = SandboxExports & Record<string, (...a: number[]) => number>;

function run(wat: string, pages = 16, imports: WebAssembly.Imports = {}, startFuel?: number): { ex: Ex; wasm: Uint8Array } {
  const { wasm } = instrument(watToWasm(wat), startFuel === undefined ? { maxMemoryPages: pages } : { maxMemoryPages: pages, startFuel });
  const ex = new WebAssembly.Instance(new WebAssembly.Module(wasm), imports).exports as unknown as Ex;
  return { ex, wasm };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SandboxError);
    return (err as SandboxError).code;
  }
  throw new Error("expected a SandboxError");
}

const FIB_WAT = `(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func $down (export "down") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0)) (else (call $down (i32.sub (local.get $n) (i32.const 1)))))))`;

describe("results are unchanged", () => {
  test("route-like function, plain vs instrumented, over many inputs", () => {
    const plain = new WebAssembly.Instance(new WebAssembly.Module(watToWasm(ROUTE_WAT)), {}).exports as unknown as Ex;
    const { ex } = run(ROUTE_WAT);
    plain.fill!();
    ex.sy_fuel_set(1e9);
    ex.fill!();
    for (let n = 1; n <= 200; n += 7) {
      ex.sy_fuel_set(1e7);
      expect(ex.route!(n)).toBe(plain.route!(n));
    }
    expect(ex.fib).toBeUndefined();
  });

  test("recursion gives the same results and charges each call", () => {
    const plain = new WebAssembly.Instance(new WebAssembly.Module(watToWasm(FIB_WAT)), {}).exports as unknown as Ex;
    const { ex } = run(FIB_WAT);
    ex.sy_fuel_set(1e8);
    expect(ex.fib!(20)).toBe(plain.fib!(20));
    const used = 1e8 - ex.sy_fuel_left();
    // fib(20) makes 21,891 calls; each entry costs at least 1.
    expect(used).toBeGreaterThanOrEqual(21_891);
    expect(used).toBeLessThan(21_891 * 40);
  });
});

describe("exports and imports", () => {
  test("every original export and import is kept, plus the sandbox's three functions", () => {
    const wat = `(module
      (import "switchyard" "sy_log" (func $log (param i32 i32 i32)))
      (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
      (memory (export "memory") 1 4)
      (global $g (export "g") i32 (i32.const 7))
      (table (export "tbl") 1 funcref)
      (func (export "sy_abi_version") (result i32) (i32.const 1))
      (func (export "say") (call $log (i32.const 2) (i32.const 0) (i32.const 0))))`;
    const original = new WebAssembly.Module(watToWasm(wat));
    const { wasm } = instrument(watToWasm(wat), { maxMemoryPages: 8 });
    const m = new WebAssembly.Module(wasm);
    const names = (l: { name: string; kind: string }[]) => l.map((e) => `${e.kind}:${e.name}`).sort();
    const imp = (l: { module: string; name: string; kind: string }[]) => l.map((e) => `${e.kind}:${e.module}.${e.name}`).sort();
    expect(imp(WebAssembly.Module.imports(m))).toEqual(imp(WebAssembly.Module.imports(original)));
    expect(names(WebAssembly.Module.exports(m))).toEqual(names([...WebAssembly.Module.exports(original), ...SANDBOX_EXPORTS.map((name) => ({ name, kind: "function" }))]));
    const logged: number[] = [];
    const inst = new WebAssembly.Instance(m, { switchyard: { sy_log: (l: number) => logged.push(l) }, env: { abort: () => undefined } });
    const ex = inst.exports as unknown as Ex;
    ex.sy_fuel_set(100);
    expect(ex.sy_abi_version!()).toBe(1);
    ex.say!();
    expect(logged).toEqual([2]);
  });

  test("a module that already exports sy_fuel_set is refused", () => {
    const wat = `(module (func (export "sy_fuel_set") (param i32)))`;
    expect(codeOf(() => instrument(watToWasm(wat), { maxMemoryPages: 1 }))).toBe("E_SANDBOX_EXPORT_CLASH");
  });
});

describe("fuel", () => {
  test("an infinite loop traps with the counter below zero; other exports still answer afterwards", () => {
    const { ex } = run(LOOPS_WAT);
    ex.sy_fuel_set(1_000_000);
    expect(() => ex.spin!()).toThrow(WebAssembly.RuntimeError);
    expect(ex.sy_fuel_left()).toBeLessThan(0);
    // What we see: the instance stays callable once re-armed (the host still never reuses a trapped one).
    ex.sy_fuel_set(1_000_000);
    expect(ex.count!(10)).toBe(10);
    expect(ex.sy_fuel_left()).toBeGreaterThan(0);
  });

  test("fuel charged grows with the iterations of a loop", () => {
    const { ex } = run(LOOPS_WAT);
    ex.sy_fuel_set(1e9);
    ex.count!(1000);
    const thousand = 1e9 - ex.sy_fuel_left();
    ex.sy_fuel_set(1e9);
    ex.count!(2000);
    const twoThousand = 1e9 - ex.sy_fuel_left();
    expect(twoThousand - thousand).toBeGreaterThanOrEqual(1000);
    expect(twoThousand / thousand).toBeGreaterThan(1.9);
  });

  test("unbounded recursion traps on fuel before the stack when fuel is small", () => {
    const { ex } = run(FIB_WAT);
    ex.sy_fuel_set(1000);
    expect(() => ex.down!(1_000_000)).toThrow(WebAssembly.RuntimeError);
    expect(ex.sy_fuel_left()).toBeLessThan(0);
  });

  test("a call with zero fuel traps at its first instruction", () => {
    const { ex } = run(FIB_WAT);
    ex.sy_fuel_set(0);
    expect(() => ex.fib!(1)).toThrow(/unreachable/);
  });

  test("the start function is metered from startFuel", () => {
    const wat = `(module (global $x (mut i32) (i32.const 0))
      (func $start (local $i i32) (loop $l (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1000)))) (global.set $x (local.get $i)))
      (start $start)
      (func (export "x") (result i32) (global.get $x)))`;
    const { ex } = run(wat, 1, {}, 100_000);
    expect(ex.sy_fuel_left()).toBeGreaterThan(0);
    expect(ex.sy_fuel_left()).toBeLessThan(100_000 - 1000);
    ex.sy_fuel_set(10);
    expect(ex.x!()).toBe(1000);
    expect(() => run(wat, 1, {}, 100)).toThrow(WebAssembly.RuntimeError);
  });
});

/**
 * An interpreter's dispatch loop: `cases` case bodies behind a br_table, each `size` instructions (adds to an
 * accumulator, 4 instructions each), one taken per iteration; a JavaScript guest's engine is this shape.
 * `skip`: a run of the same size after a br_if that skips it on odd iterations.
 */
function dispatchWat(cases: number, size: number): string {
  const body = (k: number) => Array.from({ length: size / 4 }, () => `(local.set $acc (i32.add (local.get $acc) (i32.const ${k + 1})))`).join(" ");
  let inner = `(br_table ${Array.from({ length: cases }, (_, k) => `$c${k}`).join(" ")} (i32.rem_u (local.get $i) (i32.const ${cases})))`;
  for (let k = 0; k < cases; k++) inner = `(block $c${k} ${inner}) ${body(k)} (br $next)`;
  return `(module
    (func (export "interp") (param $n i32) (result i32) (local $i i32) (local $acc i32)
      (loop $top
        (block $next ${inner})
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $acc))
    (func (export "skip") (param $n i32) (result i32) (local $i i32) (local $acc i32)
      (loop $top
        (block $odd (br_if $odd (i32.and (local.get $i) (i32.const 1))) ${body(0)})
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $acc)))`;
}

describe("fuel follows the path taken (host/sandbox/walk.ts regions)", () => {
  test("a dispatch loop is charged about one case an iteration, not all of them, with the same results", () => {
    const wat = dispatchWat(50, 40);
    const plain = new WebAssembly.Instance(new WebAssembly.Module(watToWasm(wat)), {}).exports as unknown as Ex;
    const { ex } = run(wat);
    ex.sy_fuel_set(1e9);
    expect(ex.interp!(1000)).toBe(plain.interp!(1000));
    const used = 1e9 - ex.sy_fuel_left();
    // A case is 40 instructions and the loop's own ~20; all 50 cases would be over 2,000 an iteration.
    expect(used).toBeGreaterThan(1000 * 40);
    expect(used).toBeLessThan(1000 * 120);
  });

  test("the run after a br_if is charged only when it runs", () => {
    const { ex } = run(dispatchWat(2, 400));
    const plain = new WebAssembly.Instance(new WebAssembly.Module(watToWasm(dispatchWat(2, 400))), {}).exports as unknown as Ex;
    ex.sy_fuel_set(1e9);
    expect(ex.skip!(1000)).toBe(plain.skip!(1000));
    const used = 1e9 - ex.sy_fuel_left();
    // 500 of the 1,000 iterations run the 400 instructions.
    expect(used).toBeGreaterThan(500 * 400);
    expect(used).toBeLessThan(500 * 400 + 1000 * 60);
  });

  test("regions smaller than a charge are paid by their enclosing site; an infinite dispatch still traps", () => {
    const small = instrument(watToWasm(dispatchWat(50, 4)), { maxMemoryPages: 1 }).info;
    const large = instrument(watToWasm(dispatchWat(50, 40)), { maxMemoryPages: 1 }).info;
    expect(small.regions).toBeLessThan(large.regions);
    expect(large.regions).toBeGreaterThanOrEqual(50);
    const { ex } = run(dispatchWat(50, 40));
    ex.sy_fuel_set(100_000);
    expect(() => ex.interp!(0x7fffffff)).toThrow(WebAssembly.RuntimeError);
    expect(ex.sy_fuel_left()).toBeLessThan(0);
  });
});

describe("memory cap", () => {
  const GROW_WAT = `(module (memory (export "memory") 1 100)
    (func (export "grow") (param $n i32) (result i32) (memory.grow (local.get $n)))
    (func (export "size") (result i32) (memory.size)))`;

  test("memory.grow past the cap returns -1 and is recorded; within the cap it works", () => {
    const { ex, wasm } = run(GROW_WAT, 4);
    const mem = WebAssembly.Module.exports(new WebAssembly.Module(wasm)).find((e) => e.name === "memory");
    expect(mem?.kind).toBe("memory");
    ex.sy_fuel_set(100);
    expect(ex.grow!(2)).toBe(1);
    expect(ex.sy_mem_denied()).toBe(0);
    expect(ex.grow!(2)).toBe(-1);
    expect(ex.sy_mem_denied()).toBe(2);
    expect(ex.grow!(1)).toBe(3);
    expect(ex.size!()).toBe(4);
    // A huge request must not wrap around the room-left arithmetic.
    expect(ex.grow!(-1)).toBe(-1);
    expect(ex.sy_mem_denied()).toBe(-1);
    ex.sy_fuel_set(100); // arming clears the record
    expect(ex.sy_mem_denied()).toBe(0);
  });

  test("the host cannot grow it past the cap either", () => {
    const { ex } = run(GROW_WAT, 2);
    const memory = (ex as unknown as { memory: WebAssembly.Memory }).memory;
    expect(() => memory.grow(5)).toThrow(RangeError);
  });

  test("a declared maximum below the cap is kept; info reports both", () => {
    const { info } = instrument(watToWasm(GROW_WAT), { maxMemoryPages: 1000 });
    expect(info.memory).toEqual({ initial: 1, maximum: 100, declaredMaximum: 100 });
    const noMax = instrument(watToWasm(`(module (memory 2))`), { maxMemoryPages: 8 });
    expect(noMax.info.memory).toEqual({ initial: 2, maximum: 8, declaredMaximum: null });
  });

  test("data segments survive the cap", () => {
    const wat = `(module (memory (export "memory") 1) (data (i32.const 16) "switchyard")
      (func (export "at") (param i32) (result i32) (i32.load8_u (local.get 0))))`;
    const { ex } = run(wat, 2);
    ex.sy_fuel_set(10);
    expect(ex.at!(16)).toBe("s".charCodeAt(0));
    expect(ex.at!(25)).toBe("d".charCodeAt(0));
  });
});

describe("refused input", () => {
  test.each([
    ["empty", new Uint8Array(0), "E_SANDBOX_NOT_WASM"],
    ["text", new TextEncoder().encode("hello, this is not wasm at all"), "E_SANDBOX_NOT_WASM"],
    ["wrong version", new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), "E_SANDBOX_NOT_WASM"],
    ["truncated section", new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x20, 0]), "E_SANDBOX_NOT_WASM"],
    ["runaway LEB", new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), "E_SANDBOX_NOT_WASM"],
    // A type section that says one type follows, then garbage: well framed, but invalid.
    ["invalid body", new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 2, 1, 0x99]), "E_SANDBOX_NOT_WASM"],
  ])("%s → %s", (_name, bytes, code) => {
    expect(codeOf(() => instrument(bytes, { maxMemoryPages: 1 }))).toBe(code);
  });

  test("messages say where", () => {
    try {
      instrument(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x20, 0]), { maxMemoryPages: 1 });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/byte \d+.*runs past the end/);
    }
  });

  test("initial memory above the cap", () => {
    expect(codeOf(() => instrument(watToWasm(`(module (memory 10))`), { maxMemoryPages: 4 }))).toBe("E_SANDBOX_MEMORY_INITIAL");
  });

  test("imported memory", () => {
    const wasm = watToWasm(`(module (import "env" "memory" (memory 1)))`);
    expect(codeOf(() => instrument(wasm, { maxMemoryPages: 4 }))).toBe("E_SANDBOX_IMPORTED_MEMORY");
  });

  test("two memories (hand-assembled: binaryen and V8 here refuse to build one)", () => {
    // header; memory section: 2 memories, each flags 0 min 1
    const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 5, 2, 0, 1, 0, 1]);
    expect(codeOf(() => instrument(wasm, { maxMemoryPages: 4 }))).toBe("E_SANDBOX_MULTI_MEMORY");
  });

  test("shared memory", () => {
    const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 4, 1, 3, 1, 2]);
    expect(codeOf(() => instrument(wasm, { maxMemoryPages: 4 }))).toBe("E_SANDBOX_MEMORY_KIND");
  });

  test.each([[0], [1.5], [70_000], [Number.NaN]])("maxMemoryPages %s", (pages) => {
    expect(codeOf(() => instrument(watToWasm(`(module)`), { maxMemoryPages: pages }))).toBe("E_SANDBOX_OPTIONS");
  });

  test("every code is distinct and prefixed", () => {
    expect(new Set(SANDBOX_ERROR_CODES).size).toBe(SANDBOX_ERROR_CODES.length);
    for (const code of SANDBOX_ERROR_CODES) {
      const e = new SandboxError(code, "here", "what");
      expect(e.code).toMatch(/^E_SANDBOX_/);
      expect(e.message).toBe("sandbox: here: what");
      expect(e.name).toBe("SandboxError");
    }
  });
});

test("instrumenting a small module takes milliseconds, and info counts what was metered", () => {
  instrument(watToWasm(ROUTE_WAT), { maxMemoryPages: 1 }); // warm binaryen up
  const { info } = instrument(watToWasm(ROUTE_WAT), { maxMemoryPages: 1 });
  expect(info.functions).toBe(3);
  expect(info.loops).toBe(3);
  expect(info.hasStart).toBe(false);
  expect(info.bytesOut).toBeGreaterThan(info.bytesIn);
  expect(info.ms).toBeLessThan(1000);
});

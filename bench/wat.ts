// Small modules written in WAT for calibrating fuel, benchmarking the metering and testing the sandbox.
// Built with binaryen at run time, so no binary blobs live in the repository.

import binaryen from "binaryen";
import { SandboxError } from "../host/sandbox/errors.js";

/** Assembles WAT text into a module binary. Throws E_SANDBOX_NOT_WASM naming the parser's complaint. */
export function watToWasm(text: string): Uint8Array {
  let mod: binaryen.Module;
  try {
    mod = binaryen.parseText(text);
  } catch (err) {
    throw new SandboxError("E_SANDBOX_NOT_WASM", "WAT", `does not parse: ${(err as Error).message}`, { cause: err });
  }
  try {
    mod.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.BulkMemory);
    if (!mod.validate()) throw new SandboxError("E_SANDBOX_NOT_WASM", "WAT", "does not validate");
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

/**
 * `count(n) -> i32`: the tightest loop a plugin can write (one add, one compare per iteration); calibrates
 * how much fuel a millisecond of the fastest code burns. `spin()`: never returns.
 */
export const LOOPS_WAT = `(module
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $i))
  (func (export "spin") (loop $l (br $l))))`;

/**
 * A route-like function: `route(n)` hashes (FNV-1a) n items of 16 bytes each and returns the index of the
 * largest hash, as a plugin picking a host by a header's hash would; `fill()` writes the items.
 */
export const ROUTE_WAT = `(module
  (memory (export "memory") 1 1)
  (func $hash (param $p i32) (result i32) (local $h i32) (local $i i32)
    (local.set $h (i32.const 0x811c9dc5))
    (loop $l
      (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (i32.add (local.get $p) (local.get $i)))) (i32.const 0x01000193)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 16))))
    (local.get $h))
  (func (export "fill") (local $i i32)
    (loop $l
      (i32.store8 (local.get $i) (i32.mul (local.get $i) (i32.const 31)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 4096)))))
  (func (export "route") (param $n i32) (result i32) (local $i i32) (local $best i32) (local $bh i32) (local $h i32)
    (loop $l
      (local.set $h (call $hash (i32.shl (local.get $i) (i32.const 4))))
      (if (i32.gt_u (local.get $h) (local.get $bh)) (then (local.set $bh (local.get $h)) (local.set $best (local.get $i))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $best)))`;

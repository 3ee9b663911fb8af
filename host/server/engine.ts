// V8 settings for a routing host, set once per process before the first plugin is compiled.

import { setFlagsFromString } from "node:v8";

let tuned = false;

/**
 * Compiles every wasm function with the optimizing tier in the background, right after the baseline
 * compile. V8's default, dynamic tiering, optimizes a function only once it has been called enough, and
 * under load here some runs kept plugin code in the baseline tier for seconds: the chain row's CPU per
 * request varied from 29.5 to 36.8 µs over six runs of 5 s, and from 27.4 to 28.5 µs with this flag
 * (`--no-liftoff` gave the same as this, with a slower start). A module compiled before this call keeps
 * its tiering; so this runs when a host is built, before any bundle is loaded.
 */
export function tuneEngine(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString("--no-wasm-dynamic-tiering");
}

// When a plugin's garbage is collected. Bundles are built with AssemblyScript's minimal runtime
// (host/build/runtime.ts: no shadow stack, no write barriers, ~3x faster calls), whose collector runs only
// when asked. Every sy_* export asks here before it returns: the one point where no managed reference lives
// on the wasm stack, so where a collection cannot free what a caller still uses.
//
// The policy is Go's GOGC=100: collect once the managed bytes (live and garbage) reach twice what was live
// after the last collection, and at least MIN_THRESHOLD. The route path of the SDK allocates nothing, so a
// plugin that allocates nothing per request never pays for a collection; one that does is collected after a
// number of requests in proportion to its live data, and its memory stays within about twice that.

/** Below this many managed bytes nothing is collected: a small heap costs less to keep than to mark. */
const MIN_THRESHOLD: usize = 256 * 1024;

let threshold: usize = MIN_THRESHOLD;

/** Collects now (under the minimal runtime). Call only when no managed reference is held on the stack. */
export function collectNow(): void {
  if (ASC_RUNTIME != 1) return;
  __collect();
  if (isDefined(__sy_managed_bytes)) {
    const live = __sy_managed_bytes();
    threshold = live * 2 > MIN_THRESHOLD ? live * 2 : MIN_THRESHOLD;
  }
}

/** Collects garbage if the policy says it is due. Call only when no managed reference is held on the stack. */
export function collectIfDue(): void {
  // The incremental runtime collects by itself; the stub runtime never frees. Built by a plain asc with
  // --runtime minimal, without the count, collecting every time is the safe choice.
  if (ASC_RUNTIME != 1) return;
  if (isDefined(__sy_managed_bytes) && __sy_managed_bytes() < threshold) return;
  collectNow();
}

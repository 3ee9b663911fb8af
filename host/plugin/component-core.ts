// Where a component's `route` lives among its core instances, read from the glue the host's own jco
// generated for it (host/plugin/component.ts): the core export jco's `route` calls, the memory and
// cabi_realloc its lowering uses, and the post-return function it calls after lifting. The host then calls
// that core export itself with the canonical-ABI lowered arguments (host/abi/component-route.ts), skipping
// jco's per-call task bookkeeping and its JavaScript values, which cost several µs a request (bench/components.ts).
//
// The glue comes from the pinned jco of package.json, never from the bundle, so its shape is known. When a
// piece is not where this file expects it (another jco, a component lifted with other options: UTF-16
// strings, another memory), the answer is null and route goes through jco's glue as every other call does.

/** A core export: which core instance (in the order the glue instantiates them) and its export name. */
export interface CoreExportRef {
  readonly instance: number;
  readonly name: string;
}

/** The core pieces of the world's `route` and its canonical options. */
export interface CoreRoute {
  readonly route: CoreExportRef;
  readonly memory: CoreExportRef;
  readonly realloc: CoreExportRef;
  /** `cabi_post_route` when the component has one (the glue calls it with the return area after lifting). */
  readonly postReturn: CoreExportRef | null;
}

/** `exportsN.name` or `exportsN['name']` after `= ` in the glue. */
const REF = String.raw`exports(\d+)(?:\.([A-Za-z_$][\w$]*)|\['([^']+)'\])`;

function refOf(glue: string, variable: string, instances: readonly number[]): CoreExportRef | null {
  const m = new RegExp(String.raw`\n\s*${variable} = ${REF};`).exec(glue);
  if (m === null) return null;
  const instance = instances.indexOf(Number(m[1]));
  return instance < 0 ? null : { instance, name: m[2] ?? m[3]! };
}

/** The body of the glue's `function route(`, up to the next function at the same indentation. */
function routeBody(glue: string): string | null {
  const m = /\n( *)function route\(arg0, arg1, arg2\) \{\n/.exec(glue);
  if (m === null) return null;
  const end = glue.indexOf(`\n${m[1]}}\n`, m.index + m[0].length);
  return end < 0 ? null : glue.slice(m.index, end);
}

/** The core pieces of `route` in `glue` (jco 1.34's transpile output, instantiation mode), or null. */
export function coreRouteOf(glue: string): CoreRoute | null {
  // exportsN variables in the order their instantiateCore calls run (the glue runs them top to bottom).
  const instances = [...glue.matchAll(/\(\{ exports: exports(\d+) \} = instantiateCore\(/g)].map((m) => Number(m[1]));
  if (new Set(instances).size !== instances.length) return null;
  const body = routeBody(glue);
  if (body === null) return null;
  // The lowering: the first string of the request, UTF-8 through one realloc into one memory.
  const lower = /_utf8AllocateAndEncode\(v0_0, (realloc\d+), (memory\d+)\)/.exec(body);
  const call = /fn: \(\) => (exports\d+Route)\(toUint32\(arg0\), ptr1, len1, ptr2, len2, ptr3, len3, result7, len7, variant9_0, variant9_1, variant9_2\)/.exec(body);
  if (lower === null || call === null || !body.includes("TEXT_DECODER_UTF8.decode")) return null;
  // Every memory access of the body is to that one memory.
  const memories = new Set([...body.matchAll(/\bmemory\d+\b/g)].map((m) => m[0]));
  if (memories.size !== 1) return null;
  const post = /\n\s*(postReturn\d+)\(ret\);/.exec(body);
  const route = refOf(glue, call[1]!, instances);
  const memory = refOf(glue, lower[2]!, instances);
  const realloc = refOf(glue, lower[1]!, instances);
  const postReturn = post === null ? null : refOf(glue, post[1]!, instances);
  if (route === null || memory === null || realloc === null || (post !== null && postReturn === null)) return null;
  return { route, memory, realloc, postReturn };
}

// `switchyard conform`: the ABI conformance suite, run against a bundle the way the host runs it — verified
// and instrumented by the host's loader and sandbox (host/plugin/bundle.ts, host/sandbox/options.ts), built,
// pushed and re-instantiated by host/plugin/registry.ts and plugin.ts, routed by host/plugin/chain.ts with its
// table ids, group cache and answer checks, over real cluster snapshots (host/cluster/cluster.ts). Nothing
// here touches guest memory. A plugin that passes the harness (one instance, no group cache) can still fail
// here: after a table swap, on a second table, on a fresh instance, at 65,536 hosts, or by growing per call.

import type { RequestParts } from "../abi/codec.js";
import { Cluster } from "../cluster/cluster.js";
import type { ClusterSnapshot } from "../cluster/types.js";
import { type Bundle, loadBundle } from "../plugin/bundle.js";
import { PluginChain } from "../plugin/chain.js";
import { ConfigRejected } from "../plugin/errors.js";
import type { RouterPlugin } from "../plugin/plugin.js";
import { PluginRegistry } from "../plugin/registry.js";
import { callFuel } from "../sandbox/budget.js";
import { sandboxOptions, type SandboxSettings } from "../sandbox/options.js";
import { DEFAULT_MEMORY_PAGES, type SandboxMeter } from "../sandbox/plugin-hooks.js";
import { tuneEngine } from "../server/engine.js";
import { type Answer, answerOf, describeRequest, failureOf } from "./answer.js";
import { FuelRecorder, type FuelUse } from "./fuel.js";
import { hostTable, requests, type Vocabulary, vocabulary } from "./workload.js";

export type CheckStatus = "pass" | "fail" | "warn";

export interface Check {
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  readonly expected: string;
  readonly seen: string;
}

export interface ConformReport {
  readonly bundle: string;
  readonly plugin: { readonly name: string; readonly version: string; readonly order: number } | null;
  /** True when no check failed (warnings allowed). */
  readonly ok: boolean;
  readonly checks: readonly Check[];
  /** The most fuel one call of each kind used, per table size, against what it was allowed. */
  readonly fuel: readonly FuelUse[];
}

export interface ConformOptions {
  /** Configs pushed after the default one (file contents), each checked like a push. */
  readonly configs?: readonly string[];
  /** The large table sizes (default 10,000 and 65,536 hosts). */
  readonly largeTables?: readonly number[];
  /** Calls of the garbage check (default 10,000, after 1,000 to warm up). */
  readonly calls?: number;
  readonly seed?: number;
  /** The host's sandbox settings (defaults as in a host). */
  readonly sandbox?: SandboxSettings;
}

const REQUESTS = 64;
const BASE_HOSTS = 100;
/** Share of its allowance above which a call kind is reported as a warning: a larger input may not fit. */
const WARN_SHARE = 0.5;
/** Share of the memory cap above which a large table is reported as a warning. */
const MEMORY_WARN_SHARE = 0.75;

/** A check that failed: `seen` says what happened instead. */
class Mismatch extends Error {}

/** Quarantine is host policy, not the contract: off, so that each check reports the plugin's own failure. */
const NO_QUARANTINE = { threshold: Number.MAX_SAFE_INTEGER, baseDelayMs: 0, maxDelayMs: 0 };

export async function conform(dir: string, opts: ConformOptions = {}): Promise<ConformReport> {
  tuneEngine(); // the host's V8 tier (host/server/engine.ts), so that fuel lasts as long as in the host
  const sandbox = sandboxOptions(opts.sandbox ?? {});
  let recorder: FuelRecorder | null = null;
  const registry = new PluginRegistry({
    transform: sandbox.transform,
    quarantine: NO_QUARANTINE,
    guard: (m) => {
      const g = sandbox.guard!(m);
      recorder ??= new FuelRecorder(g.meter as SandboxMeter);
      return { meter: recorder, classifier: g.classifier };
    },
  });
  const checks: Check[] = [];
  const check = (id: string, title: string, expected: string, run: () => string): boolean => {
    let status: CheckStatus = "pass";
    let seen: string;
    try {
      seen = run();
      if (seen.startsWith("warning: ")) status = "warn";
    } catch (err) {
      status = "fail";
      seen = err instanceof Mismatch ? err.message : `the suite stopped: ${(err as Error).message}`;
    }
    recorder?.settle();
    checks.push({ id, title, status, expected, seen });
    return status !== "fail";
  };
  const report = (bundle: Bundle | null): ConformReport => ({
    bundle: dir,
    plugin: bundle && { name: bundle.metadata.name, version: bundle.metadata.version, order: bundle.metadata.order },
    ok: checks.every((c) => c.status !== "fail"),
    checks,
    fuel: recorder?.uses() ?? [],
  });

  let bundle: Bundle | null = null;
  try {
    bundle = await loadBundle(dir, { transform: sandbox.transform });
  } catch (err) {
    checks.push({ id: "load", title: "the bundle verifies and compiles in the host's sandbox", status: "fail", expected: "metadata.json, sha256, exports and imports as sdk/ABI.md §3, §6, §9", seen: (err as Error).message });
    return report(null);
  }
  const b = bundle;
  const m = b.metadata;
  const fuel = callFuel(m.budget.cpuMs !== undefined || m.budget.fuel !== undefined ? m.budget : { cpuMs: opts.sandbox?.cpuMs ?? 5 });
  const pages = m.budget.memoryPages ?? opts.sandbox?.memoryPages ?? DEFAULT_MEMORY_PAGES;
  checks.push({
    id: "load",
    title: "the bundle verifies and compiles in the host's sandbox",
    status: "pass",
    expected: "metadata.json, sha256, exports and imports as sdk/ABI.md §3, §6, §9",
    seen: `${m.name}@${m.version}, order ${m.order}; ${fuel.toLocaleString("en-US")} fuel per call, memory capped at ${pages} pages (${(pages * 64).toLocaleString("en-US")} KiB)`,
  });

  const seed = opts.seed ?? 1;
  const s = new Suite(registry, b, () => recorder);
  let live!: RouterPlugin;
  if (!check("configure", "a fresh instance accepts the default config", "instantiate, sy_configure(defaultConfig) returns OK, then sy_headers (if exported) answers a usable list", () => {
    live = s.push(undefined);
    return `accepted; the host writes ${live.headers === null ? "every header" : `the headers [${live.headers.join(", ")}]`} into each request`;
  })) return report(b);

  const v = vocabulary(live.config, live.headers);
  const reqs = requests(REQUESTS, v, seed);
  const a = s.cluster("conform-a", hostTable(BASE_HOSTS, v, seed));
  let first: Answer[] = [];
  check("lifecycle", `configure, then sy_set_hosts, then sy_route for ${REQUESTS} requests over ${BASE_HOSTS} hosts`, "every call returns OK and every answer passes the host's checks (sdk/ABI.md §5.2: verdict, indices in range, offered, given once; metadata within limits)", () => {
    first = s.answers(s.chain(), reqs, a.snapshot());
    return summary(first);
  });

  check("deterministic", "the same request on the same instance gives the same answer", `each of the ${REQUESTS} requests asked 3 more times, interleaved, gives its first answer`, () => {
    const chain = s.chain();
    for (let round = 0; round < 3; round++) s.compare(`round ${round + 2}`, first, s.answers(chain, reqs, a.snapshot()), reqs);
    return `${REQUESTS * 3} repeated answers equal the first`;
  });

  check("repeat-configure", "each push makes a fresh instance that answers as the first (and so does one re-made after a failure)", "the default config pushed twice more, and an instance made the way the host re-makes one after a failure, declare the same headers and give the same answers", () => {
    for (let i = 0; i < 2; i++) {
      const p = s.push(live.config);
      if (JSON.stringify(p.headers) !== JSON.stringify(live.headers)) throw new Mismatch(`push ${i + 1} declared ${JSON.stringify(p.headers)}, the first configure ${JSON.stringify(live.headers)}`);
      s.compare(`push ${i + 1}`, first, s.answers(s.chain(), reqs, a.snapshot()), reqs);
    }
    s.compare("re-made instance", first, s.answers(s.chain(), reqs, a.snapshot(), true), reqs);
    return "2 pushes and 1 re-made instance: same headers, same answers";
  });

  (opts.configs ?? []).forEach((text, i) => {
    check(`config-${i + 1}`, `pushed config ${i + 1} is accepted or refused with a message, and a push back restores the answers`, "sy_configure returns OK or REJECTED with a message; OK answers pass the host's checks", () => {
      let seen: string;
      try {
        s.push(text);
        seen = `accepted (${summary(s.answers(s.chain(), reqs, a.snapshot()))})`;
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        seen = `refused: ${err.message}`;
      }
      s.push(live.config);
      s.compare("after the push back", first, s.answers(s.chain(), reqs, a.snapshot()), reqs);
      return seen;
    });
  });

  check("table-swap", "new snapshot versions of a table, and a second table, on one long-lived instance", "after each swap (hosts added, removed, re-tagged, shrunk) and on a second table interleaved with the first, the same answers as a fresh instance given only that table", () => {
    const chain = s.chain();
    const bTable = s.cluster("conform-b", hostTable(200, v, seed, 2));
    const swaps: [string, number, number][] = [["50 hosts added", 150, 0], ["80 hosts removed", 70, 0], ["re-tagged", 70, 3], ["shrunk to 10", 10, 4], ["back to 100", BASE_HOSTS, 0]];
    for (const [what, count, salt] of swaps) {
      a.update(hostTable(count, v, seed, salt));
      const got: Answer[] = [];
      const gotB: Answer[] = [];
      reqs.forEach((r, i) => {
        got.push(s.answer(chain, r, a.snapshot(), i));
        gotB.push(s.answer(chain, r, bTable.snapshot(), i));
      });
      s.compare(`table swap (${what}, version ${a.snapshot().version})`, s.reference(reqs, a.snapshot()), got, reqs);
      s.compare(`second table, after the swap "${what}"`, s.reference(reqs, bTable.snapshot()), gotB, reqs);
    }
    return `${swaps.length} swaps of table 0 and a second table: every answer as a fresh instance's`;
  });

  for (const n of opts.largeTables ?? [10_000, 65_536]) {
    check(`large-${n}`, `a table of ${n.toLocaleString("en-US")} hosts`, "sy_set_hosts and every sy_route within budget and memory cap; every answer passes the host's checks", () => {
      const c = s.cluster(`conform-${n}`, hostTable(n, v, seed, 5));
      const bytes = registry.tables.encode(c.snapshot()).length;
      const t0 = performance.now();
      try {
        s.answers(s.chain(), reqs.slice(0, 1), c.snapshot());
      } catch (err) {
        throw new Mismatch(`${(err as Error).message} (the table is ${bytes.toLocaleString("en-US")} bytes encoded; budget.memoryPages in plugin.json raises the memory cap of ${pages} pages)`);
      }
      const load = performance.now() - t0;
      const got = s.answers(s.chain(), reqs, c.snapshot());
      const chain = s.chain();
      const t1 = performance.now();
      for (let i = 0; i < reqs.length; i++) s.answer(chain, reqs[i]!, c.snapshot(), i, false);
      const per = ((performance.now() - t1) / reqs.length) * 1000;
      const used = s.current().memoryBytes / 65_536;
      const warn = used > MEMORY_WARN_SHARE * pages ? `warning: memory at ${Math.round((used / pages) * 100)}% of its cap after this table; ` : "";
      return `${warn}${summary(got)}; table ${bytes.toLocaleString("en-US")} bytes encoded, memory ${used} of ${pages} pages after it; first call (table load) ${load.toFixed(0)} ms, then ${per.toFixed(0)} µs per request`;
    });
  }

  // Memory only grows by whole pages, and a collector grows to its working set before it levels off: the
  // check runs windows of calls and passes when the last two windows grew nothing.
  const window = opts.calls ?? 10_000;
  const windows = 5;
  check("garbage-free", "memory levels off over repeated calls", `after 1,000 calls to warm up, two windows of ${window.toLocaleString("en-US")} calls in a row that grow no memory, within ${windows} windows`, () => {
    // A fresh instance that holds only this table: free space left by a large table would hide a leak.
    s.push(live.config);
    const chain = s.chain();
    const snap = a.snapshot();
    let call = 0;
    const run = (n: number): number => {
      for (let i = 0; i < n; i++, call++) s.answer(chain, reqs[call % reqs.length]!, snap, call % reqs.length, false);
      return s.current().memoryBytes / 65_536;
    };
    const sizes = [run(1000)];
    for (let w = 1; w <= windows; w++) {
      sizes.push(run(window));
      if (w >= 2 && sizes[w] === sizes[w - 1] && sizes[w - 1] === sizes[w - 2]) {
        const grew = sizes[w]! > sizes[0]! ? `grew from ${sizes[0]} to ${sizes[w]} pages in the first ${((w - 2) * window).toLocaleString("en-US")} calls, then ` : "";
        return `${grew}${sizes[w]} pages over the last ${(2 * window).toLocaleString("en-US")} calls`;
      }
    }
    const first = sizes[0]!;
    const last = sizes[windows]!;
    const perCall = Math.round(((last - first) * 65_536) / (windows * window));
    throw new Mismatch(`memory kept growing: ${sizes.join(" → ")} pages after each window of ${window.toLocaleString("en-US")} calls, about ${perCall} bytes kept per call; at this rate the ${pages}-page cap is reached after about ${Math.round(((pages - last) * 65_536) / Math.max(perCall, 1)).toLocaleString("en-US")} more calls`);
  });

  check("budget", "fuel headroom per call kind", `no call runs out of fuel; a warning when a call uses more than ${WARN_SHARE * 100}% of what it is allowed, or a route's fuel grows with the host count`, () => {
    const uses = recorder!.uses();
    const out = uses.filter((u) => u.maxShare >= 1);
    if (out.length > 0) throw new Mismatch(`out of fuel: ${out.map(describeUse).join("; ")}`);
    const tight = uses.filter((u) => u.maxShare > WARN_SHARE);
    const routes = uses.filter((u) => u.kind === "route" && u.hosts > 0);
    const small = routes.find((u) => u.hosts === BASE_HOSTS);
    const big = routes.reduce<FuelUse | undefined>((x, u) => (x === undefined || u.hosts > x.hosts ? u : x), undefined);
    const warnings = tight.map((u) => `${describeUse(u)} (more than ${WARN_SHARE * 100}%)`);
    if (small && big && big.hosts > small.hosts && big.maxUsed > 10 * Math.max(small.maxUsed, 1000)) {
      warnings.push(`a route at ${big.hosts} hosts used ${big.maxUsed.toLocaleString("en-US")} fuel, at ${small.hosts} hosts ${small.maxUsed.toLocaleString("en-US")}: per-request work grows with the table (sdk/ABI.md §7: index in sy_set_hosts, answer with groups §5.3)`);
    }
    const widest = uses.reduce<FuelUse | undefined>((x, u) => (x === undefined || u.maxShare > x.maxShare ? u : x), undefined);
    if (warnings.length > 0) return `warning: ${warnings.join("; ")}`;
    return widest ? `the tightest call: ${describeUse(widest)}` : "no call was metered";
  });

  return report(b);
}

function describeUse(u: FuelUse): string {
  const where = u.hosts > 0 ? ` at ${u.hosts.toLocaleString("en-US")} hosts` : "";
  return `${u.kind}${where} used ${u.maxUsed.toLocaleString("en-US")} of ${u.allowedAtMax.toLocaleString("en-US")} fuel (${Math.round(u.maxShare * 100)}%)`;
}

function summary(answers: readonly Answer[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) {
    const verdict = a.text.split(" ")[0]!;
    counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
  }
  return `${answers.length} answers: ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")}; distinct: ${new Set(answers.map((a) => a.key)).size}`;
}

/** A push the plugin refused: its message. */
class Refused extends Error {}

/** The suite's plumbing: pushes through the registry, chains from it, clusters, reference instances. */
class Suite {
  private plugin: RouterPlugin | null = null;
  private version = 0;

  constructor(private readonly registry: PluginRegistry, private readonly bundle: Bundle, private readonly recorder: () => FuelRecorder | null) {}

  /** A push as the host makes one (ConfigPusher): a new plugin built aside with a fresh instance, installed. */
  push(config: string | undefined): RouterPlugin {
    let p: RouterPlugin;
    try {
      p = this.registry.build(this.bundle, config, ++this.version);
    } catch (err) {
      if (err instanceof ConfigRejected) throw new Refused(err.reason);
      throw new Mismatch((err as Error).message);
    }
    this.registry.install(p);
    this.plugin = p;
    return p;
  }

  current(): RouterPlugin {
    return this.plugin!;
  }

  /** The chain a route with no plugin selection runs (every loaded plugin: this one). */
  chain(): PluginChain {
    return this.registry.chainFor(null);
  }

  cluster(name: string, hosts: ReturnType<typeof hostTable>): Cluster {
    return new Cluster({ name, hosts });
  }

  answer(chain: PluginChain, req: RequestParts, snapshot: ClusterSnapshot, index: number, describe = true, dryRun = false): Answer {
    const rec = this.recorder();
    if (rec) rec.hosts = snapshot.hosts.length;
    const d = chain.run(req, snapshot, true, dryRun);
    const failed = failureOf(d);
    if (failed !== null) throw new Mismatch(`request #${index} over ${snapshot.hosts.length} hosts (table ${snapshot.cluster} version ${snapshot.version}) ${describe ? describeRequest(req) : ""}: ${failed}`);
    return describe ? answerOf(d) : NO_ANSWER;
  }

  answers(chain: PluginChain, reqs: readonly RequestParts[], snapshot: ClusterSnapshot, dryRun = false): Answer[] {
    return reqs.map((r, i) => this.answer(chain, r, snapshot, i, true, dryRun));
  }

  /** The answers of a fresh instance with the current config that is given only `snapshot`. */
  reference(reqs: readonly RequestParts[], snapshot: ClusterSnapshot): Answer[] {
    const fresh = this.registry.build(this.bundle, this.plugin!.config, this.version);
    return this.answers(new PluginChain([fresh], this.registry.tables), reqs, snapshot);
  }

  compare(what: string, expected: readonly Answer[], got: readonly Answer[], reqs: readonly RequestParts[]): void {
    for (let i = 0; i < expected.length; i++) {
      if (expected[i]!.key !== got[i]!.key) {
        throw new Mismatch(`${what}: request #${i} ${describeRequest(reqs[i]!)} answered ${got[i]!.text}; expected ${expected[i]!.text}`);
      }
    }
  }
}

const NO_ANSWER: Answer = { key: "", text: "" };

export type { FuelUse, Vocabulary };

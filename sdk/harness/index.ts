// The test harness for plugin authors: load a built bundle, configure it, give it a request and hosts, and
// assert what it kept, its metadata and its verdict. It runs the real wasm through the host's own ABI code
// (no mocks), so a plugin that passes here behaves the same inside the host. By default it runs the plugin in
// the host's own sandbox (host/sandbox/options.ts): the wasm is metered and capped at load, and every call is
// armed with the bundle's budget, so a plugin that loops fails the test with kind "budget" after its budget,
// as it would in the host, instead of hanging the test runner (a wasm call cannot be interrupted).
// `{ sandbox: false }` runs the wasm unmetered (faster to load; a loop then hangs).
//
//   const p = await loadBundle("plugins/header-canary/bundle");
//   expect(p.configure('{"header":"x-canary","values":["1"]}').ok).toBe(true);
//   const r = p.route({ headers: { "x-canary": "1" } }, hosts);
//   expect(r.keptAddresses).toEqual(["127.0.10.4:80"]);

import { AnswerError, encodeHostTable } from "../../host/abi/codec.js";
import { linearMemoriesOf } from "../../host/abi/guest.js";
import { groupOf, rejectGrpcStatus } from "../../host/abi/answer.js";
import { loadBundle as loadVerified, type Bundle, type LoadOptions } from "../../host/plugin/bundle.js";
import { PluginFailure } from "../../host/plugin/errors.js";
import { type CallMeter, type FailureClassifier, InstanceFailure, PluginInstance, defaultClassifier, noMeter } from "../../host/plugin/instance.js";
import { sandboxOptions, type SandboxSettings } from "../../host/sandbox/options.js";
import { tuneEngine } from "../../host/server/engine.js";
import { HostStatus, type ClusterSnapshot, type Host, type HostSpec } from "../../host/cluster/types.js";

export interface TestRequest {
  method?: string;
  path?: string;
  authority?: string;
  /** Pairs keep repeated headers and their order; a record is the short form. */
  headers?: readonly (readonly [string, string])[] | Readonly<Record<string, string>>;
}

export interface TestResult {
  verdict: "accept" | "reject" | "wait";
  /** Table indices of the kept hosts, increasing (empty for reject and wait). */
  kept: number[];
  keptAddresses: string[];
  metadata: Record<string, string>;
  status?: number;
  body?: string;
  /** Reject: the gRPC status its metadata names (`Result.rejectGrpc`, sdk/ABI.md §5.2), checked as the host checks it. */
  grpcStatus?: number;
  waitMs?: number;
}

export interface LogLine {
  level: number;
  message: string;
}

export class TestPlugin {
  readonly name: string;
  readonly order: number;
  /** Everything the plugin logged through the SDK, in order. */
  readonly logs: LogLine[] = [];
  private instance: PluginInstance;
  /** The last config a configure accepted: a fresh instance after a failure is configured with it. */
  private config: string | null = null;
  private snapshots = new Map<readonly HostSpec[], ClusterSnapshot>();
  private nextId = 1;

  /** `guard`: the sandbox's meter and classifier for this bundle (none: unmetered calls). */
  constructor(readonly bundle: Bundle, private readonly guard: { meter: CallMeter; classifier: FailureClassifier } | null = null) {
    this.name = bundle.metadata.name;
    this.order = bundle.metadata.order;
    this.instance = this.fresh();
  }

  /** Whether calls run under the host's fuel budget and memory cap. */
  get sandboxed(): boolean {
    return this.guard !== null;
  }

  private fresh(): PluginInstance {
    const sink = { enabled: () => true, log: (level: number, message: string) => this.logs.push({ level, message }) };
    return new PluginInstance(this.bundle.module, this.bundle.metadata.headers, sink, this.guard?.meter ?? noMeter, this.guard?.classifier ?? defaultClassifier);
  }

  private failure(err: unknown, what: string): never {
    // A failed instance is never reused, as in the host (host/plugin/plugin.ts instance()): the next call
    // gets a fresh one, configured with the current config.
    this.instance = this.fresh();
    if (this.config !== null) {
      try {
        const message = this.instance.configure(this.config);
        if (message !== null) this.config = null;
      } catch {
        this.config = null; // the next call reports the instance as not configured
      }
    }
    this.snapshots.clear();
    if (err instanceof InstanceFailure) throw new PluginFailure(err.kind, this.name, this.bundle.metadata.version, `${what}: ${err.detail}`, { cause: err });
    throw err;
  }

  /**
   * The byte size of each linear memory of the current instance: the module's memory, or each core
   * instance's memory of a component. A wasm memory never shrinks, so a size that keeps rising over many
   * calls is memory the plugin keeps (bench/component-js.ts).
   */
  get linearMemoryBytes(): number[] {
    const e = this.instance.guest.exports;
    return linearMemoriesOf(e).map((m) => m.buffer.byteLength);
  }

  /** The headers the host would write per request under the current config (null: all; sdk/ABI.md §4.4). */
  get headers(): readonly string[] | null {
    return this.instance.headers;
  }

  /**
   * Configures the plugin; the default config when `text` is omitted. As a push to the host, the config is
   * loaded into a fresh instance built aside, which replaces the live one only when the plugin accepts it: a
   * rejected config leaves the previous one (and its headers) in force.
   */
  configure(text: string = this.bundle.metadata.defaultConfig): { ok: boolean; message?: string } {
    const inst = this.fresh();
    let message: string | null;
    try {
      message = inst.configure(text);
    } catch (err) {
      if (err instanceof InstanceFailure) throw new PluginFailure(err.kind, this.name, this.bundle.metadata.version, `configure: ${err.detail}`, { cause: err });
      throw err;
    }
    if (message !== null) return { ok: false, message };
    this.instance = inst;
    this.config = text;
    this.snapshots.clear();
    return { ok: true };
  }

  private snapshotOf(hosts: readonly HostSpec[]): ClusterSnapshot {
    let s = this.snapshots.get(hosts);
    if (s === undefined) {
      const list: Host[] = hosts.map((h) =>
        Object.freeze({ address: h.address, hostname: h.hostname, weight: h.weight, tags: h.tags, healthy: h.healthy ?? true, status: HostStatus.Available, pending: 0 }),
      );
      s = Object.freeze({ cluster: "harness", version: this.nextId, id: this.nextId++, hosts: Object.freeze(list) });
      this.snapshots.set(hosts, s);
    }
    return s;
  }

  /**
   * Routes one request over `hosts` (the same array object keeps its table loaded, as a snapshot does in the
   * host). `offered` limits what the plugin is offered, as an earlier plugin of a chain would.
   */
  route(request: TestRequest, hosts: readonly HostSpec[], offered?: readonly number[]): TestResult {
    const snapshot = this.snapshotOf(hosts);
    const raw: string[] = [];
    const h = request.headers ?? [];
    const pairs = Array.isArray(h) ? (h as readonly (readonly [string, string])[]) : Object.entries(h as Record<string, string>);
    for (const [k, v] of pairs) raw.push(k, v);
    const req = { method: request.method ?? "GET", path: request.path ?? "/", authority: request.authority ?? "localhost", rawHeaders: raw };
    const offer = offered === undefined ? null : Uint32Array.from([...offered].sort((a, b) => a - b));
    const inst = this.instance;
    try {
      inst.loadTable(0, snapshot, encodeTable(snapshot));
      inst.route(0, req, offer, offer?.length ?? hosts.length, hosts.length);
      const a = inst.answer;
      const pairs = a.metadataPairs();
      const metadata = Object.fromEntries(pairs);
      if (a.verdict === "reject") {
        const grpcStatus = rejectGrpcStatus(pairs);
        return { verdict: "reject", kept: [], keptAddresses: [], metadata, status: a.arg, body: a.body(), ...(grpcStatus === null ? {} : { grpcStatus }) };
      }
      if (a.verdict === "wait") return { verdict: "wait", kept: [], keptAddresses: [], metadata, waitMs: a.arg };
      let kept: number[];
      if (a.kept < -1) {
        // A group (ABI §5.3): the offered hosts that are in it.
        const group = new Set(inst.group(0, hosts.length, groupOf(a.kept)));
        kept = (offer ? [...offer] : hosts.map((_, i) => i)).filter((i) => group.has(i));
      } else if (a.kept < 0) kept = offer ? [...offer] : hosts.map((_, i) => i);
      else {
        kept = a.keptAsWritten(hosts.length);
        checkIndices(kept, hosts.length, offer);
        kept.sort((x, y) => x - y);
      }
      return { verdict: "accept", kept, keptAddresses: kept.map((i) => hosts[i]!.address), metadata };
    } catch (err) {
      return this.failure(err, "route");
    }
  }
}

const encoded = new WeakMap<ClusterSnapshot, Uint8Array>();
function encodeTable(s: ClusterSnapshot): Uint8Array {
  let b = encoded.get(s);
  if (b === undefined) encoded.set(s, (b = encodeHostTable(s.hosts)));
  return b;
}

function checkIndices(kept: number[], count: number, offer: Uint32Array | null): void {
  const seen = new Set<number>();
  const allowed = offer ? new Set(offer) : null;
  kept.forEach((idx, i) => {
    if (idx >= count) throw new InstanceFailure("answer", new AnswerError(`kept[${i}]`, `index ${idx} is out of range (table has ${count} hosts)`).message);
    if (seen.has(idx)) throw new InstanceFailure("answer", new AnswerError(`kept[${i}]`, `index ${idx} is given twice`).message);
    if (allowed && !allowed.has(idx)) throw new InstanceFailure("answer", new AnswerError(`kept[${i}]`, `index ${idx} was not offered`).message);
    seen.add(idx);
  });
}

export interface HarnessOptions extends LoadOptions {
  /** Configure with the bundle's default config after loading (default true). */
  configure?: boolean;
  /**
   * The sandbox settings a host is built with (host/sandbox/options.ts: cpuMs and memoryPages, used when the
   * bundle's metadata names no budget), or false to run the wasm unmetered and uncapped. Default: the host's.
   */
  sandbox?: SandboxSettings | false;
}

/**
 * Loads and verifies a bundle folder exactly as the host does, in the host's sandbox unless `sandbox: false`,
 * and configures it with its default config.
 */
export async function loadBundle(dir: string, opts: HarnessOptions = {}): Promise<TestPlugin> {
  let plugin: TestPlugin;
  if (opts.sandbox === false) plugin = new TestPlugin(await loadVerified(dir, opts));
  else {
    // The same V8 tier as the host (host/server/host.ts), so that a budget lasts as long here as there.
    tuneEngine();
    const sandbox = sandboxOptions(opts.sandbox ?? {});
    const bundle = await loadVerified(dir, { ...opts, transform: opts.transform ?? sandbox.transform });
    plugin = new TestPlugin(bundle, sandbox.guard!(bundle.metadata));
  }
  if (opts.configure !== false) {
    const r = plugin.configure();
    if (!r.ok) throw new Error(`${plugin.name} rejected its default config: ${r.message}`);
  }
  return plugin;
}

export type { HostSpec, SandboxSettings };

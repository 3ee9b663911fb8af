// A whole Switchyard host for end-to-end tests: a config (object or JSON text) parsed as `switchyard run`
// parses it, the example plugin bundles built by `make build` copied into a temp plugins folder, a state
// folder, listeners on 127.0.0.1 port 0 and every pino line captured in memory.
//
//   const sy = await startSwitchyard({ config: mosnConfig({ clusters, virtualHosts }), plugins: ["deny"] });
//   const r = await send(sy.url, { path: "/" });
//   expect(sy.accessLog().at(-1)).toMatchObject({ status: 200 });
//   await sy.close();

import { access, cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import pino from "pino";
import type { RandomSource } from "../../host/cluster/types.js";
import type { Clock } from "../../host/cluster/clock.js";
import { parseConfig } from "../../host/config/index.js";
import type { RequestEvent } from "../../host/server/pipeline.js";
import type { ReloadOutcome as ConfigReloadOutcome } from "../../host/server/reload.js";
import { SwitchyardHost } from "../../host/server/host.js";
import { TEST_HTTP1_CODEC, TEST_UPSTREAM_CLIENT, type TestHttp1Codec, type TestUpstreamClient } from "./codec.js";
import { memoryLog } from "./memory-log.js";

export const REPO = new URL("../../", import.meta.url).pathname;
/** Where `make build` puts the example plugin bundles. */
export const BUILT_PLUGINS = join(REPO, "build/plugins");

export interface StartOptions {
  readonly config: object | string;
  /**
   * Bundles copied into the plugins folder: an example plugin's name ("deny": build/plugins/deny) or a
   * bundle folder relative to the repository ("test/fixtures/echo/bundle").
   */
  readonly plugins?: readonly string[];
  /** Randomness for weighted clusters and balancers; Math.random by default. */
  readonly random?: RandomSource;
  readonly logLevel?: pino.Level;
  /** Poll period and debounce of TLS listeners' certificate files. */
  readonly certificateTiming?: { readonly pollMs?: number; readonly debounceMs?: number };
  /** The host's clock and timers (SwitchyardHostOptions.clock: the pipeline's waits and deadlines included); a ManualClock in tests. */
  readonly clock?: Clock;
  /** Serve the admin API on the config's admin.address, with no token (docs tours curl its reads). */
  readonly admin?: boolean;
}

export interface RunningSwitchyard {
  readonly host: SwitchyardHost;
  /** "http://127.0.0.1:port" of each listener, in config order. */
  readonly urls: readonly string[];
  /** The first listener's URL. */
  readonly url: string;
  readonly pluginsDir: string;
  readonly stateDir: string;
  /** Every pino line, parsed, in order. */
  readonly logs: Record<string, unknown>[];
  /** Every decision the pipeline reported (the metrics hook), in order of completion. */
  readonly events: RequestEvent[];
  /** The access log: the lines whose msg is "request". */
  accessLog(): Record<string, unknown>[];
  /** Reloads the host with `config`, given this run's codec and upstream client as startSwitchyard gives them. */
  reload(config: object | string): Promise<ConfigReloadOutcome>;
  close(): Promise<void>;
}

/** `config` (object or JSON text) with `change` applied to a copy; text that is not JSON is left as it is. */
function editConfig(config: object | string, change: (obj: Record<string, unknown>) => void): object | string {
  let obj: Record<string, unknown>;
  try {
    obj = (typeof config === "string" ? JSON.parse(config) : structuredClone(config)) as Record<string, unknown>;
  } catch {
    return config;
  }
  change(obj);
  return typeof config === "string" ? JSON.stringify(obj) : obj;
}

/** `config` with switchyard.http1_codec set on every listener that does not set it (helpers/codec.ts). */
export function withHttp1Codec(config: object | string, codec: TestHttp1Codec): object | string {
  return editConfig(config, (obj) => {
    for (const s of (obj["servers"] ?? []) as { listeners?: Record<string, unknown>[] }[]) {
      for (const l of s.listeners ?? []) {
        const own = (l["switchyard"] ?? {}) as Record<string, unknown>;
        if (own["http1_codec"] === undefined) l["switchyard"] = { ...own, http1_codec: codec };
      }
    }
  });
}

/** `config` with switchyard.upstream_client set when it does not set it (helpers/codec.ts). */
export function withUpstreamClient(config: object | string, client: TestUpstreamClient): object | string {
  return editConfig(config, (obj) => {
    const own = (obj["switchyard"] ?? {}) as Record<string, unknown>;
    if (own["upstream_client"] === undefined) obj["switchyard"] = { ...own, upstream_client: client };
  });
}

/** A test's config with this run's listener codec and upstream client (helpers/codec.ts), as JSON text. */
function runConfigText(config: object | string): string {
  const coded = TEST_HTTP1_CODEC === "llhttp" ? config : withHttp1Codec(config, TEST_HTTP1_CODEC);
  const given = TEST_UPSTREAM_CLIENT === "llhttp" ? coded : withUpstreamClient(coded, TEST_UPSTREAM_CLIENT);
  return typeof given === "string" ? given : JSON.stringify(given);
}

export async function startSwitchyard(opts: StartOptions): Promise<RunningSwitchyard> {
  const { config } = parseConfig(runConfigText(opts.config), "e2e.json");
  const root = await mkdtemp(join(tmpdir(), "switchyard-e2e-"));
  const pluginsDir = join(root, "plugins");
  const stateDir = join(root, "state");
  for (const [i, name] of (opts.plugins ?? []).entries()) {
    const from = name.includes("/") ? join(REPO, name) : join(BUILT_PLUGINS, name);
    await access(join(from, "metadata.json")).catch(() => {
      throw new Error(`plugin bundle ${from} is missing: run \`make build\` first`);
    });
    await cp(from, join(pluginsDir, `${i}-${basename(name)}`), { recursive: true });
  }
  const logs: Record<string, unknown>[] = [];
  const events: RequestEvent[] = [];
  const logger = pino({ level: opts.logLevel ?? "info" }, memoryLog(logs));
  const host = new SwitchyardHost({
    config,
    pluginsDir: (opts.plugins ?? []).length > 0 ? pluginsDir : null,
    stateDir,
    logger,
    admin: opts.admin === true,
    ...(opts.admin === true ? { env: {} } : {}),
    watch: false,
    observe: (e) => events.push(e),
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.certificateTiming ? { certificateTiming: opts.certificateTiming } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  try {
    const { plugins } = await host.start();
    const refused = plugins?.refused ?? [];
    if (refused.length > 0) throw new Error(`plugins refused: ${JSON.stringify(refused)}`);
  } catch (err) {
    await host.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  const urls = host.servers.map((s) => `${s.server.tls ? "https" : "http"}://127.0.0.1:${s.address!.port}`);
  return {
    host,
    urls,
    url: urls[0]!,
    pluginsDir,
    stateDir,
    logs,
    events,
    accessLog: () => logs.filter((l) => l.msg === "request"),
    reload: (next) => host.reload(parseConfig(runConfigText(next), "e2e.json").config),
    async close() {
      // Clients of a test may leave keep-alive sockets behind: stop() must not wait for them.
      for (const s of host.servers) s.server.closeAllConnections();
      await host.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface ClusterSpec {
  readonly name: string;
  /** Host addresses, or hosts with their tags (plain metadata map). */
  readonly hosts: readonly (string | { address: string; tags?: Record<string, string>; weight?: number })[];
  readonly lb?: string;
  readonly extra?: Record<string, unknown>;
}

/** A MOSN-shaped config: one listener on 127.0.0.1:0 with a proxy filter, `servers[].routers`, clusters. */
export function mosnConfig(spec: {
  clusters: readonly ClusterSpec[];
  virtualHosts: readonly object[];
  /** The filter chain's tls_context (issue 15). */
  tls?: object;
  /** Fields merged into the proxy filter's config (downstream_protocol, upstream_protocol). */
  proxy?: object;
}): object {
  return {
    servers: [
      {
        routers: [{ router_config_name: "r", virtual_hosts: spec.virtualHosts }],
        listeners: [
          {
            name: "main",
            address: "127.0.0.1:0",
            filter_chains: [{
              ...(spec.tls ? { tls_context: spec.tls } : {}),
              filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r", ...spec.proxy } }],
            }],
          },
        ],
      },
    ],
    cluster_manager: { clusters: spec.clusters.map(clusterJson) },
  };
}

export function clusterJson(c: ClusterSpec): object {
  return {
    name: c.name,
    type: "SIMPLE",
    lb_type: c.lb ?? "LB_ROUNDROBIN",
    hosts: c.hosts.map((h) =>
      typeof h === "string"
        ? { address: h }
        : { address: h.address, weight: h.weight ?? 1, metadata: { filter_metadata: { "mosn.lb": h.tags ?? {} } } },
    ),
    ...c.extra,
  };
}

/** One catch-all virtual host with these router entries. */
export function anyHost(routers: readonly object[]): object {
  return { name: "any", domains: ["*"], routers };
}

/** A random source that returns `values` in turn (cycling), for weighted cluster picks by table. */
export function sequence(values: readonly number[]): RandomSource {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** The JSON body our test upstreams answer with: which upstream answered, and the URL it saw. */
export function upstreamOf(body: Buffer): { upstream: string; url: string; method: string } {
  return JSON.parse(body.toString("utf8")) as { upstream: string; url: string; method: string };
}

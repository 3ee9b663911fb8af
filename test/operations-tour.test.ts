// docs/operations.md's examples of readiness, active health checks, circuit breakers and the access log, run
// (issue 16, "Must show").
// Each ```<lang> operations-tour=<name> block is read from the markdown: the cluster and route blocks become the
// config of a real host (test/helpers/switchyard.ts; a listener "main", one route "all" to the cluster, the admin
// API), whose hosts are real servers on 127.0.0.1; the `$ ` commands run with bash (curl on the listener and the
// admin API), and what the host prints (its log lines, the answer, /metrics, /readyz) must be exactly what the doc
// shows, "…" standing only for what varies (times, pids, ports of clients, durations, ids). The doc's
// addresses (127.0.0.1:18081, 127.0.0.1:18082, 127.0.0.1:42515, localhost:8080, localhost:9901) become the real
// ones, and the real ones (and the temp plugins folder, as "plugins") are put back in what the host printed
// before comparing. Health checks run on a ManualClock: a
// round moves it to every host's next check and waits for their results, nothing sleeps. The tours record
// what the host printed; `compare` matches it with a doc's blocks, so the self-check can edit a copy of the
// doc and see it fail.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { request } from "undici";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { linesMismatch, parseExamples, sh, taggedBlocks, valueMismatch, wholeValueMismatch, type Json } from "./helpers/doc-examples.js";
import { send } from "./helpers/front.js";
import { canaryVariant, memoryLog } from "./helpers/host-process.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { REPO, anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";
import { holdingUpstream, refusingAddress, startUpstream, startUpstreams } from "./helpers/upstreams.js";

const DOC = "docs/operations.md";
const TAG = "operations-tour";
/** The blocks the tours read (the cluster configs) and the ones they check, in the doc's order. */
const BLOCKS = [
  "readiness-missing", "readiness-optional-route",
  "health-cluster", "health-failed-log", "health-metrics", "health-passed-log",
  "breaker-cluster", "breaker-answer", "breaker-access-log", "breaker-metrics",
  "access-log-forwarded",
];
/** The config blocks among them: read by the tours, checked by what the host does with them. */
const CONFIG_BLOCKS = ["health-cluster", "breaker-cluster"];
const DOC_HOSTS = ["127.0.0.1:18081", "127.0.0.1:18082"];

/**
 * What the host printed for each checked block: a whole JSON value (a log line, an answer), each command's
 * output, or what a config block made the host do (`problem`: null when it did what the doc says).
 */
type Printed = Map<string, { readonly line: Json } | { readonly commands: Map<string, { code: number; stdout: string; stderr: string }> } | { readonly problem: string | null }>;

/** The doc's addresses as the real ones (`to`), and back (`from`). */
function addresses(pairs: [doc: string, real: string][]) {
  return {
    to: (text: string) => pairs.reduce((t, [d, r]) => t.replaceAll(d, r), text),
    from: (text: string) => pairs.reduce((t, [d, r]) => t.replaceAll(r, d), text),
  };
}

/** A whole config around the doc's cluster: a listener "main", one route "all" to it, the admin API on port 0. */
function tourConfig(cluster: { name: string }): object {
  const base = mosnConfig({ clusters: [], virtualHosts: [anyHost([{ name: "all", match: { prefix: "/" }, route: { cluster_name: cluster.name } }])] });
  return { ...base, cluster_manager: { clusters: [cluster] }, admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } } };
}

function block(doc: string, name: string): string {
  const b = taggedBlocks(doc, TAG).get(name);
  if (b === undefined) throw new Error(`${DOC} has no block ${TAG}=${name}`);
  return b.body;
}

function commandsOf(doc: string, name: string) {
  return parseExamples(DOC, doc, new RegExp(`^sh\\s+${TAG}=${name}$`));
}

/** Runs the `$ ` commands of block `name` against `sy` and keeps their output, with the doc's addresses. */
async function runCommands(doc: string, name: string, sy: RunningSwitchyard, map: ReturnType<typeof addresses>, printed: Printed): Promise<void> {
  const local = addresses([["localhost:8080", `127.0.0.1:${sy.host.servers[0]!.address!.port}`], ["localhost:9901", `127.0.0.1:${sy.host.adminAddress!.port}`]]);
  const commands = new Map<string, { code: number; stdout: string; stderr: string }>();
  for (const ex of commandsOf(doc, name)) {
    const r = await sh(map.to(local.to(ex.command)));
    commands.set(ex.command, { ...r, stdout: map.from(local.from(r.stdout)) });
  }
  printed.set(name, { commands });
}

/** The one log line `pick` finds among the lines from `from` on, with the doc's addresses (all of them if not one). */
function logLine(sy: RunningSwitchyard, from: number, pick: (l: Record<string, unknown>) => boolean, map: ReturnType<typeof addresses>): Json {
  return oneLine(sy.logs.slice(from), pick, map);
}

function oneLine(lines: readonly Record<string, unknown>[], pick: (l: Record<string, unknown>) => boolean, map: ReturnType<typeof addresses>): Json {
  const found = lines.filter(pick);
  return JSON.parse(map.from(JSON.stringify(found.length === 1 ? found[0] : found))) as Json;
}

/** What readinessTour saw besides the doc's blocks: each /readyz status, and /readyz with the route's optional_plugins dropped. */
interface ReadinessSeen {
  readonly refusedStatus: number;
  readonly loaded: string[];
  readonly withoutOptional: { status: number; missing: string[] };
}

/**
 * docs/operations.md "Readiness": a host whose one route is the doc's optional_plugins route (header-canary
 * required, zone-affinity optional), in a plugins folder holding only header-canary, its default config one that
 * its configure rejects (no "header"): /readyz is the doc's 503. Then the good default config, one scan: ready,
 * zone-affinity still not loaded. Then the same route without optional_plugins (a reload): not ready, waiting
 * for zone-affinity, so the route's optional_plugins is what made it ready.
 */
async function readinessTour(doc: string, printed: Printed): Promise<ReadinessSeen> {
  const root = await mkdtemp(join(tmpdir(), "switchyard-tour-ready-"));
  const plugins = join(root, "plugins");
  let host: SwitchyardHost | null = null;
  try {
    const bundle = join(plugins, "header-canary");
    await canaryVariant(bundle, { version: "1.0.0", tagValue: "canary" });
    const metadata = join(bundle, "metadata.json");
    const good = await readFile(metadata, "utf8");
    await writeFile(metadata, JSON.stringify({ ...(JSON.parse(good) as object), defaultConfig: JSON.stringify({ values: ["1"] }) }));
    // The doc's snippet is the route's "switchyard" member, not a whole JSON value.
    const { switchyard } = JSON.parse(`{${block(doc, "readiness-optional-route")}}`) as { switchyard: Record<string, unknown> };
    const hostAddress = await refusingAddress();
    const config = (route: object) => {
      const base = mosnConfig({ clusters: [{ name: "c", hosts: [hostAddress] }], virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", switchyard: route } }])] });
      return parseConfig(JSON.stringify({ ...base, admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } } }), "tour.json").config;
    };
    host = new SwitchyardHost({ config: config(switchyard), pluginsDir: plugins, stateDir: null, logger: pino({ level: "info" }, memoryLog([])), env: {}, watch: false, persist: false });
    await host.start();
    const readyz = async () => {
      const res = await request(`http://127.0.0.1:${host!.adminAddress!.port}/readyz`);
      return { status: res.statusCode, body: (await res.body.json()) as Json & { missing: { plugin: string }[] } };
    };
    // The plugins folder as `switchyard run --plugins plugins` names it.
    const map = addresses([["plugins", plugins]]);
    const refused = await readyz();
    printed.set("readiness-missing", { line: JSON.parse(map.from(JSON.stringify(refused.body))) as Json });

    await writeFile(metadata, good);
    await host.watcher!.scan();
    const loaded = host.registry.list().map((p) => p.name);
    const ready = await readyz();
    const want = { status: "ready", missing: [], refused: [] };
    const okay = ready.status === 200 && JSON.stringify(ready.body) === JSON.stringify(want) && !loaded.includes("zone-affinity");
    printed.set("readiness-optional-route", {
      problem: okay ? null : `with this route and only header-canary loaded (${loaded.join(", ")}), /readyz answered ${ready.status} ${JSON.stringify(ready.body)}, not 200 ${JSON.stringify(want)}`,
    });

    const { optional_plugins: _, ...required } = switchyard;
    await host.reload(config(required));
    const without = await readyz();
    return { refusedStatus: refused.status, loaded, withoutOptional: { status: without.status, missing: without.body.missing.map((m) => m.plugin) } };
  } finally {
    for (const s of host?.servers ?? []) s.server.closeAllConnections();
    await host?.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * docs/operations.md "Active health checks": the doc's cluster with its second host answering 503, checked for
 * unhealthy_threshold rounds (the mark), then answering 200 for healthy_threshold rounds (back).
 */
async function healthTour(doc: string, printed: Printed): Promise<void> {
  const ups = await startUpstreams(2);
  let sy: RunningSwitchyard | null = null;
  try {
    let failing = true;
    ups.list[1]!.behaviour = () => (failing ? { status: 503 } : {});
    const map = addresses(DOC_HOSTS.map((d, i) => [d, ups.addresses[i]!]));
    const config = tourConfig(JSON.parse(map.to(block(doc, "health-cluster"))) as { name: string });
    const settings = parseConfig(JSON.stringify(config), "tour.json").config.clusters[0]!.healthCheck!;
    const clock = new ManualClock(0);
    sy = await startSwitchyard({ config, clock, random: () => 0.5, admin: true });
    // Every wait is interval + floor(0.5 × jitter) (health-check.ts schedule): one such step fires each host's next check.
    const step = settings.intervalMs + Math.floor(0.5 * settings.intervalJitterMs);
    let checks = 0;
    let waiters: { n: number; resolve: () => void }[] = [];
    sy.host.events.on("health-check", () => {
      checks++;
      waiters = waiters.filter((w) => (checks >= w.n ? (w.resolve(), false) : true));
    });
    const rounds = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const done = new Promise<void>((resolve) => waiters.push({ n: checks + ups.list.length, resolve }));
        clock.advance(step);
        await done;
      }
    };
    const health = (l: Record<string, unknown>) => l.component === "health";
    await rounds(settings.unhealthyThreshold);
    printed.set("health-failed-log", { line: logLine(sy, 0, health, map) });
    await runCommands(doc, "health-metrics", sy, map, printed);
    failing = false;
    const before = sy.logs.length;
    await rounds(settings.healthyThreshold);
    printed.set("health-passed-log", { line: logLine(sy, before, health, map) });
  } finally {
    await sy?.close();
    await ups.close();
  }
}

/**
 * docs/operations.md "Circuit breakers": the doc's cluster on a host that holds every request, max_requests of
 * them held (the upstream saw each), then the doc's request and the metrics; then the held ones are let go.
 */
async function breakerTour(doc: string, printed: Printed): Promise<{ held: number[]; reached: number }> {
  const up = await holdingUpstream();
  let sy: RunningSwitchyard | null = null;
  try {
    const map = addresses([[DOC_HOSTS[0]!, up.address]]);
    const config = tourConfig(JSON.parse(map.to(block(doc, "breaker-cluster"))) as { name: string });
    const limit = parseConfig(JSON.stringify(config), "tour.json").config.clusters[0]!.circuitBreakers!.maxRequests;
    sy = await startSwitchyard({ config, admin: true });
    const held = Array.from({ length: limit }, (_, i) => send(sy!.url, { path: `/held/${i}` }));
    await up.reached(limit);
    const before = sy.logs.length;
    await runCommands(doc, "breaker-answer", sy, map, printed);
    printed.set("breaker-access-log", { line: logLine(sy, before, (l) => l.msg === "request", map) });
    await runCommands(doc, "breaker-metrics", sy, map, printed);
    const reached = up.seen;
    up.release(held.length, true);
    return { held: (await Promise.all(held)).map((r) => r.status), reached };
  } finally {
    await sy?.close();
    await up.close();
  }
}

/**
 * docs/operations.md "The access log": a forwarded POST of 5 bytes (`x-request-id: made-1`, `user-agent:
 * probe/1`) to route "fwd" of cluster "c", whose one host answers its 60-byte JSON body; switchyard.access_log is
 * a file, read once the host has stopped (stop closes it: every line is out).
 */
async function accessLogTour(printed: Printed): Promise<{ status: number; bytes: number }> {
  const root = await mkdtemp(join(tmpdir(), "switchyard-tour-access-"));
  const up = await startUpstream("u");
  let sy: RunningSwitchyard | null = null;
  try {
    const file = join(root, "access.log");
    const base = mosnConfig({ clusters: [{ name: "c", hosts: [up.address] }], virtualHosts: [anyHost([{ name: "fwd", match: { prefix: "/fwd" }, route: { cluster_name: "c" } }])] });
    sy = await startSwitchyard({ config: { ...base, switchyard: { access_log: file } } });
    const r = await send(sy.url, { method: "POST", path: "/fwd/a", body: "hello", headers: { "x-request-id": "made-1", "user-agent": "probe/1" } });
    await sy.close();
    sy = null;
    const lines = (await readFile(file, "utf8")).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
    printed.set("access-log-forwarded", { line: oneLine(lines, (l) => l.msg === "request", addresses([["127.0.0.1:42515", up.address]])) });
    return { status: r.status, bytes: r.body.length };
  } finally {
    await sy?.close();
    await up.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** Where what the host printed differs from `doc`'s blocks: one line per problem, each naming the block. */
function compare(doc: string, printed: Printed): string[] {
  const problems: string[] = [];
  const blocks = taggedBlocks(doc, TAG);
  const names = [...blocks.keys()];
  if (names.join() !== BLOCKS.join()) problems.push(`${DOC}: the ${TAG} blocks are [${names.join(", ")}], the tours read [${BLOCKS.join(", ")}]`);
  for (const [name, got] of printed) {
    const b = blocks.get(name);
    if (b === undefined) continue;
    const where = `${DOC}:${b.line} ${TAG}=${name}`;
    if ("problem" in got) {
      if (got.problem !== null) problems.push(`${where}: ${got.problem}`);
      continue;
    }
    if ("line" in got) {
      let documented: Json;
      try {
        documented = JSON.parse(b.body) as Json;
      } catch (err) {
        problems.push(`${where}: not JSON: ${(err as Error).message}`);
        continue;
      }
      // The whole value: no field the host prints is left out of the doc's, and null means null.
      const m = valueMismatch(documented, got.line) ?? wholeValueMismatch(documented, got.line);
      if (m !== null) problems.push(`${where}: ${m}\nprinted: ${JSON.stringify(got.line)}`);
      continue;
    }
    const examples = commandsOf(doc, name);
    if (examples.length === 0) problems.push(`${where}: no $ command`);
    for (const ex of examples) {
      const r = got.commands.get(ex.command);
      if (r === undefined) problems.push(`${where}: ${ex.command}: not run (the tour ran: ${[...got.commands.keys()].join("; ")})`);
      else if (r.code !== 0) problems.push(`${where}: ${ex.command}: exit ${r.code}, stderr: ${r.stderr}`);
      else {
        const m = linesMismatch(ex.output, r.stdout);
        if (m !== null) problems.push(`${where}: ${ex.command}: ${m}`);
      }
    }
  }
  return problems;
}

let doc: string;
const printed: Printed = new Map();
let ready: ReadinessSeen;
let breaker: { held: number[]; reached: number };
let forwarded: { status: number; bytes: number };

beforeAll(async () => {
  doc = await readFile(join(REPO, DOC), "utf8");
  ready = await readinessTour(doc, printed);
  await healthTour(doc, printed);
  breaker = await breakerTour(doc, printed);
  forwarded = await accessLogTour(printed);
}, 60_000);

describe("docs/operations.md: the examples of readiness, health checks, circuit breakers and the access log", () => {
  it("has every block the tours read, and the host printed what each shows", () => {
    expect([...taggedBlocks(doc, TAG).keys()]).toEqual(BLOCKS);
    expect([...printed.keys()].sort()).toEqual(BLOCKS.filter((b) => !CONFIG_BLOCKS.includes(b)).sort());
    expect(compare(doc, printed).join("\n\n")).toBe("");
  });

  it("/readyz answered 503 while header-canary was refused, and without optional_plugins it waits for zone-affinity", () => {
    expect(ready).toEqual({ refusedStatus: 503, loaded: ["header-canary"], withoutOptional: { status: 503, missing: ["zone-affinity"] } });
  });

  it("the breaker's refusal reached no upstream, and the held requests finished", () => {
    expect(breaker).toEqual({ held: [200, 200], reached: 2 });
  });

  it("the forwarded request got the upstream's whole answer", () => {
    expect(forwarded).toEqual({ status: 200, bytes: 60 });
  });

  it("self-check: an edited value in a copy of the doc is a mismatch naming its block", () => {
    const edits: [from: string, to: string, block: string][] = [
      ['result="failed"} 2', 'result="failed"} 3', "health-metrics"],
      ['host="127.0.0.1:18082"} 0', 'host="127.0.0.1:18082"} 1', "health-metrics"],
      ['"detail":"status 503"', '"detail":"status 500"', "health-failed-log"],
      ['"event":"health-passed"', '"event":"health-ok"', "health-passed-log"],
      ["HTTP/1.1 503 Service Unavailable", "HTTP/1.1 502 Bad Gateway", "breaker-answer"],
      ['"reason":"E_CIRCUIT_OPEN"', '"reason":"E_CIRCUIT_OPENED"', "breaker-access-log"],
      ['limit="max_requests"} 1\n', 'limit="max_requests"} 2\n', "breaker-metrics"],
      ['"plugin":"header-canary"', '"plugin":"zone-affinity"', "readiness-missing"],
      ['virtual_hosts[0].routers[0]"]', 'virtual_hosts[0].routers[1]"]', "readiness-missing"],
      ['"route":"fwd"', '"route":"all"', "access-log-forwarded"],
      ['"bytesIn":5', '"bytesIn":6', "access-log-forwarded"],
      ['"userAgent":"probe/1"', '"userAgent":null', "access-log-forwarded"],
      ['"upstream":null', '"upstream":"127.0.0.1:18081"', "breaker-access-log"],
    ];
    for (const [from, to, name] of edits) {
      expect(doc.split(from).length, `"${from}" once in ${DOC}`).toBe(2);
      const problems = compare(doc.replace(from, to), printed);
      expect(problems, `${from} → ${to}`).toHaveLength(1);
      expect(problems[0]).toContain(`${TAG}=${name}`);
    }
    // A line the host prints left out of the doc, and a field left out of a log line.
    const fewer = doc.replace('switchyard_host_healthy{cluster="api",host="127.0.0.1:18081"} 1\n', "");
    expect(compare(fewer, printed)).toEqual([expect.stringMatching(/health-metrics: .*lines the doc does not show/s)]);
    const noField = doc.replace('"hostname":"…",', "").replace('"hostname":"…",', "").replace('"requestId":"made-1",', "");
    expect(compare(noField, printed).filter((p) => /fields are/.test(p))).toHaveLength(3);
    // Also in an object inside the answer: the first refusal without its dir.
    expect(compare(doc.replace('"dir":"plugins/header-canary",', ""), printed)).toEqual([expect.stringMatching(/readiness-missing: \$\.missing\[0\]\.refused: the doc's fields are code,message,name, the host's code,dir,message,name/)]);
    // A block renamed or gone is not silently skipped.
    expect(compare(doc.replace(`${TAG}=breaker-metrics`, `${TAG}=breaker-gauges`), printed)[0]).toMatch(/the operations-tour blocks are/);
  });

  it("self-check: the optional_plugins route without optional_plugins, run again, is not ready", async () => {
    const edited = doc.replace(', "optional_plugins": ["zone-affinity"]', "");
    expect(edited).not.toBe(doc);
    const again: Printed = new Map();
    await readinessTour(edited, again);
    // The route then waits for zone-affinity too: the 503 answer lists it, and loading header-canary is not enough.
    const problems = compare(edited, again);
    expect(problems.map((p) => /operations-tour=(\S+):/.exec(p)?.[1])).toEqual(["readiness-missing", "readiness-optional-route"]);
    expect(problems[1]).toMatch(/answered 503 .*"plugin":"zone-affinity"/);
  }, 30_000);
});

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run as check } from "../host/cli/check.js";
import { run as schemaCommand } from "../host/cli/schema.js";
import { FIELDS } from "../host/config/fields.js";
import { CONFIG_SCHEMA } from "../host/config/schema.js";
import { parseConfig } from "../host/config/parse.js";
import { ConfigError } from "../host/config/errors.js";
import type { ConfigProblem } from "../host/config/types.js";
import { checkAgainstSchema } from "./helpers/schema-check.js";

const EXAMPLES = "examples/configs";
const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith(".json"));
const read = (f: string) => JSON.parse(readFileSync(join(EXAMPLES, f), "utf8")) as unknown;

interface NumberNode {
  type?: string;
  minimum?: number;
  maximum?: number;
  items?: NumberNode;
  anyOf?: NumberNode[];
  oneOf?: NumberNode[];
}

/** The number schema of `kind`.`key` as the schema writes it (inside items, anyOf, oneOf), read here on its own. */
function boundsOf(kind: string, key: string): NumberNode {
  const find = (n: NumberNode): NumberNode | undefined =>
    n.type === "integer" || n.type === "number" ? n : n.items ? find(n.items) : [...(n.anyOf ?? []), ...(n.oneOf ?? [])].map(find).find((x) => x !== undefined);
  const prop = (CONFIG_SCHEMA.$defs as unknown as Record<string, { properties: Record<string, NumberNode> }>)[kind]!.properties[key]!;
  return find(prop)!;
}

/** Sets `path` (the parser's notation: a.b[0].c) in `doc`, making the objects and arrays on the way. */
function setAt(doc: any, path: string, value: unknown): void {
  const parts = [...path.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
  let at = doc;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) at[part] = value;
    else {
      if (at[part] === undefined || typeof at[part] !== "object") at[part] = typeof parts[i + 1] === "number" ? [] : {};
      at = at[part];
    }
  });
}

function problemsOf(text: string): readonly ConfigProblem[] {
  try {
    parseConfig(text, "demo.json");
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe("the JSON Schema", () => {
  it("is draft 2020-12 and every $ref resolves", () => {
    expect(CONFIG_SCHEMA.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    const refs = JSON.stringify(CONFIG_SCHEMA).match(/"#\/\$defs\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const r of refs) expect(Object.keys(CONFIG_SCHEMA.$defs)).toContain(r.slice(9, -1));
  });

  it("gives the parser its field lists: the schema's properties, object by object", () => {
    expect(FIELDS.root).toEqual(Object.keys(CONFIG_SCHEMA.properties));
    for (const [kind, def] of Object.entries(CONFIG_SCHEMA.$defs as Record<string, { properties?: Record<string, unknown> }>)) {
      if (def.properties === undefined) expect(FIELDS, kind).not.toHaveProperty(kind);
      else expect((FIELDS as Record<string, readonly string[]>)[kind], `$defs.${kind}`).toEqual(Object.keys(def.properties));
    }
  });

  it("a field outside the schema: the parser warns with the schema's nearest field, the validator names it", () => {
    const doc = read("demo.json") as any;
    doc.servers[0].listeners[0].switchyard = { max_conections: 10 };
    const { warnings } = parseConfig(JSON.stringify(doc), "demo.json");
    expect(warnings).toEqual([{ path: "servers[0].listeners[0].switchyard.max_conections", message: 'unknown field; ignored (did you mean "max_connections"?)' }]);
    expect(checkAgainstSchema(doc, CONFIG_SCHEMA, { strict: true })).toEqual([{ path: "servers[0].listeners[0].switchyard.max_conections", message: "not in the schema" }]);
  });

  // Every number bound the readers take from the schema (host/config/fields.ts numberRule), each put at its
  // place in the demo config: the parser and a JSON Schema validator (ajv) must accept its bounds and refuse
  // one past them, at the same path. The bounds are read from the schema, so a reader with a bound of its own
  // disagrees with the validator here.
  const listener = "servers[0].listeners[0]";
  const route = "servers[0].routers[0].virtual_hosts[0].routers[0]";
  const cluster = "cluster_manager.clusters[0]";
  const bounded: { kind: string; key: string; at: string; setup?: (d: any) => void }[] = [
    { kind: "listenerSwitchyard", key: "max_connections", at: `${listener}.switchyard.max_connections` },
    { kind: "listenerHttp2", key: "max_concurrent_streams", at: `${listener}.switchyard.http2.max_concurrent_streams` },
    { kind: "listenerHttp2", key: "max_header_list_size", at: `${listener}.switchyard.http2.max_header_list_size` },
    { kind: "listenerHttp2", key: "initial_window_size", at: `${listener}.switchyard.http2.initial_window_size` },
    { kind: "listenerHttp2", key: "max_stream_resets_per_second", at: `${listener}.switchyard.http2.max_stream_resets_per_second` },
    { kind: "retryPolicy", key: "num_retries", at: `${route}.route.retry_policy.num_retries` },
    { kind: "retryPolicy", key: "retry_on_statuses", at: `${route}.route.retry_policy.retry_on_statuses[0]` },
    { kind: "retryPolicy", key: "retry_on_grpc_statuses", at: `${route}.route.retry_policy.retry_on_grpc_statuses[0]` },
    { kind: "wait", key: "max_count", at: `${route}.route.switchyard.wait.max_count` },
    { kind: "directResponse", key: "status", at: `${route}.direct_response.status`, setup: (d) => (d.servers[0].routers[0].virtual_hosts[0].routers[0] = { match: { prefix: "/" }, direct_response: {} }) },
    { kind: "clusterWeight", key: "weight", at: `${route}.route.weighted_clusters[0].cluster.weight`, setup: (d) => (d.servers[0].routers[0].virtual_hosts[0].routers[0].route = { weighted_clusters: [{ cluster: { name: "demo" } }, { cluster: { name: "demo", weight: 1 } }] }) },
    { kind: "host", key: "weight", at: `${cluster}.hosts[0].weight` },
    { kind: "outlierDetection", key: "consecutive_5xx", at: `${cluster}.outlier_detection.consecutive_5xx` },
    { kind: "healthCheck", key: "healthy_threshold", at: `${cluster}.health_check.healthy_threshold` },
    { kind: "healthCheck", key: "unhealthy_threshold", at: `${cluster}.health_check.unhealthy_threshold` },
    { kind: "httpCheckConfig", key: "port", at: `${cluster}.health_check.check_config.http_check_config.port`, setup: (d) => (d.cluster_manager.clusters[0].health_check = { protocol: "Http1" }) },
    { kind: "httpCheckConfig", key: "expected_statuses", at: `${cluster}.health_check.check_config.http_check_config.expected_statuses[0]`, setup: (d) => (d.cluster_manager.clusters[0].health_check = { protocol: "Http1" }) },
    { kind: "thresholds", key: "max_connections", at: `${cluster}.circuit_breakers[0].max_connections` },
    { kind: "thresholds", key: "max_pending_requests", at: `${cluster}.circuit_breakers[0].max_pending_requests` },
    { kind: "thresholds", key: "max_requests", at: `${cluster}.circuit_breakers[0].max_requests` },
    { kind: "thresholds", key: "max_retries", at: `${cluster}.circuit_breakers[0].max_retries` },
    { kind: "retryBudget", key: "budget_percent", at: `${cluster}.circuit_breakers[0].retry_budget.budget_percent` },
    { kind: "percent", key: "value", at: `${cluster}.circuit_breakers[0].retry_budget.budget_percent.value` },
    { kind: "retryBudget", key: "min_retry_concurrency", at: `${cluster}.circuit_breakers[0].retry_budget.min_retry_concurrency` },
    { kind: "socketAddress", key: "port_value", at: "admin.address.socket_address.port_value", setup: (d) => (d.admin.address = { socket_address: { address: "127.0.0.1" } }) },
  ];

  it("covers every number bound the readers take from the schema", () => {
    const sources = readdirSync("host/config").filter((f) => f.endsWith(".ts")).map((f) => readFileSync(join("host/config", f), "utf8")).join("\n");
    const used = [...sources.matchAll(/numberRule\("(\w+)", "(\w+)"\)/g)].map((m) => `${m[1]}.${m[2]}`);
    expect(used.length).toBeGreaterThan(20);
    // Envoy's {"value": n} form of budget_percent is read with budget_percent's own rule; it is checked too.
    expect(new Set(bounded.map((b) => `${b.kind}.${b.key}`))).toEqual(new Set([...used, "percent.value"]));
  });

  it.each(bounded)("$key at $at: the parser and the validator agree on its bounds", ({ kind, key, at, setup }) => {
    const node = boundsOf(kind, key);
    const values: [number, boolean][] = [];
    if (node.minimum !== undefined) values.push([node.minimum, true], [node.minimum - 1, false]);
    if (node.maximum !== undefined) values.push([node.maximum, true], [node.maximum + 1, false]);
    if (node.type === "integer") values.push([(node.minimum ?? 0) + 0.5, false]);
    expect(values.length).toBeGreaterThanOrEqual(2);
    for (const [value, ok] of values) {
      const doc = read("demo.json") as any;
      setup?.(doc);
      setAt(doc, at, value);
      const parsed = problemsOf(JSON.stringify(doc));
      const schema = checkAgainstSchema(doc, CONFIG_SCHEMA).map((p) => p.path);
      if (ok) {
        expect(parsed, `parser, ${at} = ${value}`).toEqual([]);
        expect(schema, `schema, ${at} = ${value}`).toEqual([]);
      } else {
        expect(parsed.map((p) => p.path), `parser, ${at} = ${value}`).toEqual([at]);
        expect(parsed[0]!.message).toMatch(new RegExp(`^expected an? (integer|number)\\b.*got ${String(value).replace(".", "\\.")}$`));
        expect(schema, `schema, ${at} = ${value}`).toContain(at);
      }
    }
  });

  it.each(examples)("example %s validates against it", (file) => {
    // The demo and the connection_manager example use only documented fields; the MOSN proxy example
    // carries MOSN fields that we ignore, as a real MOSN config would.
    const strict = file !== "mosn-http-proxy.json";
    expect(checkAgainstSchema(read(file), CONFIG_SCHEMA, { strict })).toEqual([]);
  });

  it("finds structural mistakes, with their paths", () => {
    const bad = {
      servers: [{ listeners: [{ address: "nope", filter_chains: [] }] }],
      cluster_manager: { clusters: [{ hosts: [{ address: "127.0.10.1:80", weight: 0, metadata: { zone: [1] } }], lb_type: "LB_FASTEST" }] },
      admin: { address: { socket_address: { address: "127.0.0.1" } } },
    };
    const paths = checkAgainstSchema(bad, CONFIG_SCHEMA).map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "servers[0].listeners[0].address",
        "cluster_manager.clusters[0]", // neither name nor Name
        "cluster_manager.clusters[0].lb_type",
        "cluster_manager.clusters[0].hosts[0].weight",
        "cluster_manager.clusters[0].hosts[0].metadata",
        "admin.address",
      ]),
    );
  });

  it("strict mode names undocumented fields", () => {
    const doc = read("demo.json") as any;
    doc.servers[0].listeners[0].tls_context = {};
    doc.servers[0].listeners[0].filter_chains[0].filters[0].config.bogus = 1;
    const problems = checkAgainstSchema(doc, CONFIG_SCHEMA, { strict: true });
    expect(problems.map((p) => p.path).sort()).toEqual(["servers[0].listeners[0].filter_chains[0].filters[0].config.bogus", "servers[0].listeners[0].tls_context"]);
    expect(new Set(problems.map((p) => p.message))).toEqual(new Set(["not in the schema"]));
  });

  it("`switchyard schema` prints it as JSON", async () => {
    let printed = "";
    expect(await schemaCommand([], (t) => (printed += t))).toBe(0);
    expect(JSON.parse(printed)).toEqual(JSON.parse(JSON.stringify(CONFIG_SCHEMA)));
  });
});

describe("switchyard check", () => {
  const dir = mkdtempSync(join(tmpdir(), "sy-check-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  };

  it.each(examples)("says ok for %s", async (file) => {
    const c = capture();
    expect(await check([join(EXAMPLES, file)], c.io)).toBe(0);
    expect(c.out[0]).toMatch(/^ok: .*\d+ listener/);
    expect(c.err).toEqual([]);
  });

  it("prints the warnings after ok", async () => {
    const c = capture();
    expect(await check([join(EXAMPLES, "mosn-http-proxy.json")], c.io)).toBe(0);
    expect(c.out).toContain("warning: servers[0].listeners[0].bind_port: not supported by Switchyard; ignored");
  });

  it("prints every problem and exits 1", async () => {
    const file = join(dir, "bad.json");
    const doc = read("demo.json") as any;
    doc.servers[0].listeners[0].address = "8080";
    doc.servers[0].routers[0].virtual_hosts[0].routers[0].route.cluster_name = "nope";
    writeFileSync(file, JSON.stringify(doc));
    const c = capture();
    expect(await check([file], c.io)).toBe(1);
    const text = c.err.join("\n");
    expect(text).toContain(`E_CONFIG_INVALID: ${file}: 2 problems in config`);
    expect(text).toContain("servers[0].listeners[0].address: expected \"ip:port\"");
    expect(text).toContain('servers[0].routers[0].virtual_hosts[0].routers[0].route.cluster_name: unknown cluster "nope"');
    expect(c.out).toEqual([]);
  });

  it("names malformed JSON and a missing file", async () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, '{\n  "servers": [\n');
    const c = capture();
    expect(await check([file], c.io)).toBe(1);
    expect(c.err.join("\n")).toMatch(/malformed JSON at line 3, column 1/);
    const m = capture();
    expect(await check([join(dir, "absent.json")], m.io)).toBe(1);
    expect(m.err.join("\n")).toMatch(/E_CONFIG_READ: .*absent\.json.*ENOENT/s);
  });

  it("exits 2 with usage when not given exactly one file", async () => {
    const c = capture();
    expect(await check([], c.io)).toBe(2);
    expect(await check(["a.json", "b.json"], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/^usage: switchyard check/);
  });
});

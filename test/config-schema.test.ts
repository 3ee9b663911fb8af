import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run as check } from "../host/cli/check.js";
import { run as schemaCommand } from "../host/cli/schema.js";
import { FIELDS } from "../host/config/fields.js";
import { CONFIG_SCHEMA } from "../host/config/schema.js";
import { checkAgainstSchema } from "./helpers/schema-check.js";

const EXAMPLES = "examples/configs";
const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith(".json"));
const read = (f: string) => JSON.parse(readFileSync(join(EXAMPLES, f), "utf8")) as unknown;

describe("the JSON Schema", () => {
  it("is draft 2020-12 and every $ref resolves", () => {
    expect(CONFIG_SCHEMA.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    const refs = JSON.stringify(CONFIG_SCHEMA).match(/"#\/\$defs\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const r of refs) expect(Object.keys(CONFIG_SCHEMA.$defs)).toContain(r.slice(9, -1));
  });

  it("documents exactly the fields the parser reads, object by object", () => {
    expect(Object.keys(CONFIG_SCHEMA.properties).sort()).toEqual([...FIELDS.root].sort());
    for (const [kind, fields] of Object.entries(FIELDS)) {
      if (kind === "root") continue;
      const def = (CONFIG_SCHEMA.$defs as Record<string, { properties?: Record<string, unknown> }>)[kind];
      expect(def, `$defs.${kind}`).toBeDefined();
      expect(Object.keys(def!.properties ?? {}).sort(), `$defs.${kind}`).toEqual([...fields].sort());
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

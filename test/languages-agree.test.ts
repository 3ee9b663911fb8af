// The same rule in every language gives the same answers: header-canary in AssemblyScript (the SDK), in C
// (sdk/c/switchyard.h) and in Rust (sdk/rust/switchyard.rs), raw ABI bundles built by `make build`, and the
// AssemblyScript, C, Rust and JavaScript rules as WebAssembly components (sdk/wit), run through the harness — the host's own loader
// and sandbox — over one table of cases (configs × host tables × offers × requests).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBundle, type HostSpec, type TestPlugin, type TestRequest } from "../sdk/harness/index.js";
import { buildBundles, REPO, type Built } from "./fixtures/bundles.js";

const RAW = ["header-canary-c", "header-canary-rust"];
// Components (sdk/wit), loaded by the same host loader: jco transpiles, the host compiles and sandboxes.
const COMPONENTS: Record<string, string> = {
  "header-canary as a component (AssemblyScript)": "build/component-plugins/header-canary",
  // C exporting the world by hand in the canonical ABI, made a component by jco embed + jco new.
  "header-canary-c-component (a C component)": "build/component-plugins/header-canary-c-component",
  "header-canary-rust-component (a Rust component)": "build/component-plugins/header-canary-rust-component",
  // One load for every config: each load of this 12.5 MB component (its JavaScript engine) transpiles and
  // instruments it again, ~30 s on a loaded machine; configure still makes a fresh instance per config.
  "header-canary-js (a JavaScript component)": "build/component-plugins/header-canary-js",
};
const LOAD_ONCE = new Set(["header-canary-js (a JavaScript component)"]);
// The JavaScript guest cannot load the 1000-host table within the largest call budget the sandbox gives
// (MAX_FUEL, 2^31-1: its engine interprets set-hosts instruction by instruction), so it runs the other tables.
const SMALL_TABLES_ONLY = LOAD_ONCE;
let built: Built;
const dirs: Record<string, string> = {};

beforeAll(async () => {
  built = await buildBundles(["plugins/header-canary"]);
  dirs["header-canary"] = built.dirs["header-canary"]!;
  for (const name of RAW) {
    const dir = join(REPO, "build/raw-plugins", name);
    if (!existsSync(join(dir, "metadata.json"))) throw new Error(`${dir}: no bundle; run \`make build\` first (it compiles the C and Rust examples)`);
    dirs[name] = dir;
  }
  for (const [name, rel] of Object.entries(COMPONENTS)) {
    const dir = join(REPO, rel);
    if (!existsSync(join(dir, "metadata.json"))) throw new Error(`${dir}: no bundle; run \`make build\` first (it builds the component examples)`);
    dirs[name] = dir;
  }
}, 120_000);

afterAll(async () => {
  await built?.cleanup();
});

function hostsOf(n: number, tagOf: (i: number) => Record<string, string>): HostSpec[] {
  return Array.from({ length: n }, (_, i) => ({ address: `10.0.${i >> 8}.${i & 255}:80`, weight: 1 + (i % 3), tags: tagOf(i), healthy: i % 7 !== 3 }));
}

const tables: Record<string, HostSpec[]> = {
  six: hostsOf(6, (i) => ({ version: i % 3 === 1 ? "canary" : "v1", zone: "abc"[i % 3]! })),
  "no canary": hostsOf(5, () => ({ version: "v1" })),
  "all canary": hostsOf(4, () => ({ version: "canary" })),
  "no tags": hostsOf(3, () => ({})),
  "1000 hosts": hostsOf(1000, (i) => (i % 10 === 0 ? { zone: "a", version: "canary" } : { version: `v${i % 4}`, "ü": "ß" })),
};

const configs: Record<string, string | undefined> = {
  default: undefined,
  "others all": '{"header":"x-canary","values":["1","true"],"others":"all"}',
  "tag zone=a": '{"header":"X-Canary","values":["yes"],"tag":"zone","tagValue":"a"}',
  "an empty value": '{"header":"x-canary","values":["1",""]}',
  "unicode values": '{ "header" : "x-canary" , "values" : [ "\\u00e9t\\u00e9", "ok" ] }',
  // Refused by every language: the answers compared are ok/not ok.
  "unknown field": '{"header":"x-canary","values":["1"],"weight":3}',
  "bad others": '{"header":"x-canary","values":["1"],"others":"some"}',
  "missing header": '{"values":["1"]}',
  "not json": "{header}",
  "no values": '{"header":"x-canary","values":[]}',
  "an empty tag": '{"header":"x-canary","values":["1"],"tag":""}',
};

const requests: Record<string, TestRequest> = {
  none: {},
  "canary 1": { headers: { "x-canary": "1" } },
  "canary true": { headers: { "x-canary": "true" } },
  "TRUE is not true": { headers: { "x-canary": "TRUE" } },
  "yes": { headers: [["x-canary", "yes"]] },
  "été": { headers: { "x-canary": "été" } },
  "first occurrence decides": { headers: [["x-canary", "0"], ["x-canary", "1"]] },
  "empty value": { headers: { "x-canary": "" } },
  "other headers only": { headers: { "x-other": "1" }, path: "/a?b=1", method: "POST" },
};

const offers: Record<string, (n: number) => number[] | undefined> = {
  all: () => undefined,
  evens: (n) => Array.from({ length: n }, (_, i) => i).filter((i) => i % 2 === 0),
  "first only": (n) => (n > 0 ? [0] : []),
};

type Outcome = unknown;

async function outcomes(dir: string, loadOnce = false, smallOnly = false): Promise<Map<string, Outcome>> {
  const out = new Map<string, Outcome>();
  const once = loadOnce ? await loadBundle(dir, { configure: false }) : null;
  for (const [cname, config] of Object.entries(configs)) {
    // A fresh plugin per config, as the host makes a fresh instance per pushed config.
    const p: TestPlugin = once ?? (await loadBundle(dir, { configure: false }));
    const c = p.configure(config);
    out.set(`${cname}: configure`, c.ok);
    if (!c.ok) continue;
    for (const [tname, hosts] of Object.entries(tables)) {
      if (smallOnly && hosts.length > 100) continue;
      for (const [oname, offer] of Object.entries(offers)) {
        for (const [rname, request] of Object.entries(requests)) {
          const r = p.route(request, hosts, offer(hosts.length));
          out.set(`${cname} / ${tname} / offer ${oname} / ${rname}`, { verdict: r.verdict, kept: r.kept, metadata: r.metadata });
        }
      }
    }
  }
  return out;
}

describe("header-canary in AssemblyScript, C and Rust, raw and as components", () => {
  it("gives identical answers on every case", async () => {
    const reference = await outcomes(dirs["header-canary"]!);
    // Cases that would pass however the plugins behaved are not cases: check the table exercises each answer.
    const kinds = new Set([...reference.values()].map((v) => JSON.stringify(v)));
    const accepted = Object.keys(configs).filter((c) => reference.get(`${c}: configure`) === true);
    expect(accepted).toEqual(["default", "others all", "tag zone=a", "an empty value", "unicode values"]);
    expect(reference.size).toBe(accepted.length * 5 * 3 * 9 + 11);
    expect(kinds.size).toBeGreaterThan(20);
    for (const name of [...RAW, ...Object.keys(COMPONENTS)]) {
      const got = await outcomes(dirs[name]!, LOAD_ONCE.has(name), SMALL_TABLES_ONLY.has(name));
      if (SMALL_TABLES_ONLY.has(name)) expect(got.size).toBe(accepted.length * 4 * 3 * 9 + 11);
      const differ = [...got.keys()].filter((k) => JSON.stringify(got.get(k)) !== JSON.stringify(reference.get(k)));
      expect({ plugin: name, differ: differ.slice(0, 5).map((k) => [k, reference.get(k), got.get(k)]) }).toEqual({ plugin: name, differ: [] });
    }
  }, 600_000);
});

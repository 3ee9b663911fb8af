// Runs every example marked ```sh doc-test in README.md and docs/*.md, so that the docs cannot drift.
//
// In a marked block, a line starting with "$ " is a command (a trailing "\" continues it on the next line);
// the lines after it, up to the next command, are its documented output. Each file gets a fresh host on the
// demo config (examples/configs/demo.json, bundles from build/plugins, admin token demo-token) on port 0,
// with demo upstreams on port 0; commands run in the repository with bash, with the documented addresses
// (:8080, :9901, 127.0.0.1:18081-18084) replaced by the real ones. A command must exit 0, and its output must
// have the documented values:
//   - documented JSON: the output is JSON with the documented values (valueMismatch: every documented key
//     present, recursively, with the documented value; null or "…" where a value varies; each documented
//     array element equal to some output element), on one line only if the documented JSON is;
//   - documented text: every documented line matches an output line, in order, where "…" matches anything
//     and a run of spaces matches any run of spaces.
// The admin server here is the real AdminServer with the host's own dependencies plus `metrics` (the host's
// admin cannot be given the metrics until host.ts wires attachMetrics).

import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { AdminToken } from "../host/admin/auth.js";
import { AdminServer } from "../host/admin/server.js";
import { DEMO_UPSTREAMS } from "../host/cli/demo.js";
import { parseConfig } from "../host/config/index.js";
import { explain, type SampleRequest } from "../host/explain/explain.js";
import { attachMetrics } from "../host/metrics/metrics.js";
import { SwitchyardHost } from "../host/server/host.js";
import { linesMismatch, outputMismatch, parseExamples, sh, taggedBlocks, wholeValueMismatch, type Example } from "./helpers/doc-examples.js";

const REPO = new URL("../", import.meta.url).pathname;

interface DemoHost {
  readonly substitute: (command: string) => string;
  /** The output with the real addresses put back to the documented ones. */
  readonly documented: (output: string) => string;
  close(): Promise<void>;
}

/** The demo of `make run`, on port 0. */
async function startDemo(): Promise<DemoHost> {
  const upstreams: Server[] = [];
  const real = new Map<string, string>();
  for (const u of DEMO_UPSTREAMS) {
    const s = createServer((req, res) => {
      req.resume();
      const body = JSON.stringify({ host: u.address, version: u.version, zone: u.zone, method: req.method, path: req.url }) + "\n";
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    upstreams.push(s);
    real.set(u.address, `127.0.0.1:${(s.address() as AddressInfo).port}`);
  }
  let text = await readFile(join(REPO, "examples/configs/demo.json"), "utf8");
  text = text.replace('"127.0.0.1:8080"', '"127.0.0.1:0"').replace('"127.0.0.1:9901"', '"127.0.0.1:0"');
  for (const [doc, actual] of real) text = text.replaceAll(`"${doc}"`, `"${actual}"`);
  const { config } = parseConfig(text, join(REPO, "examples/configs/demo.json"));
  const root = await mkdtemp(join(tmpdir(), "switchyard-docs-"));
  const log = pino({ level: "silent" });
  const host = new SwitchyardHost({ config, logger: log, pluginsDir: join(REPO, "build/plugins"), stateDir: join(root, "state"), admin: false, watch: false });
  const metrics = attachMetrics(host);
  await host.start();
  // What host.ts gives its AdminServer, plus the metrics.
  const admin = new AdminServer({
    registry: host.registry,
    pusher: host.pusher,
    clusters: host.clusterAdmin(),
    token: new AdminToken("demo-token"),
    ready: () => host.readiness(),
    refused: () => host.watcher?.refused() ?? [],
    explain: (body) => explain({ config, clusters: host.clusters, registry: host.registry }, body as SampleRequest),
    metrics: () => metrics.scrape(),
    config: () => host.configStatus(),
    log,
  });
  const adminPort = (await admin.listen(0, "127.0.0.1")).port;
  const proxyPort = host.servers[0]!.address!.port;
  return {
    substitute(command) {
      let c = command.replace(/(localhost|127\.0\.0\.1):8080\b/g, `127.0.0.1:${proxyPort}`).replace(/(localhost|127\.0\.0\.1):9901\b/g, `127.0.0.1:${adminPort}`);
      for (const [doc, actual] of real) c = c.replaceAll(doc, actual);
      return c;
    },
    documented(output) {
      let o = output.replaceAll(`127.0.0.1:${proxyPort}`, "127.0.0.1:8080").replaceAll(`127.0.0.1:${adminPort}`, "127.0.0.1:9901");
      for (const [doc, actual] of real) o = o.replaceAll(actual, doc);
      return o;
    },
    async close() {
      metrics.detach();
      await admin.close();
      await host.stop();
      await Promise.all(upstreams.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })));
      await rm(root, { recursive: true, force: true });
    },
  };
}

const docs = ["README.md", ...(await readdir(join(REPO, "docs"))).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const examples = new Map<string, Example[]>();
for (const f of docs) examples.set(f, parseExamples(f, await readFile(join(REPO, f), "utf8")));

describe("the README", () => {
  it("starts with the two commands, which the Makefile has", async () => {
    const readme = await readFile(join(REPO, "README.md"), "utf8");
    const head = readme.split("\n").slice(0, 6).join("\n");
    expect(head).toMatch(/^make run\b/m);
    expect(head).toMatch(/^make test\b/m);
    const makefile = await readFile(join(REPO, "Makefile"), "utf8");
    expect(makefile).toMatch(/^run: /m);
    expect(makefile).toMatch(/^test: /m);
  });

  it("links to files that exist", async () => {
    const readme = await readFile(join(REPO, "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]!).filter((l) => !/^https?:/.test(l));
    expect(links).toEqual(expect.arrayContaining(["docs/config.md", "docs/writing-a-plugin.md", "docs/admin-api.md", "docs/performance.md", "sdk/ABI.md"]));
    const missing: string[] = [];
    for (const l of links) await readFile(join(REPO, l)).catch(() => missing.push(l));
    // docs/performance.md is being written alongside; every other link must resolve now.
    expect(missing.filter((l) => l !== "docs/performance.md")).toEqual([]);
  });

  it("marks its tour and the admin API reference as tested examples", () => {
    expect(examples.get("README.md")!.length).toBeGreaterThanOrEqual(8);
    expect(examples.get("docs/admin-api.md")!.length).toBeGreaterThanOrEqual(12);
  });
});

describe("the example checker", () => {
  it("compares JSON by value, with placeholders for what varies, and text by lines with … wildcards", () => {
    expect(outputMismatch(['{"a":1,"b":[{"c":"x"}]}'], '{"a":1,"b":[{"c":"x","d":1}],"e":0}')).toBeNull();
    expect(outputMismatch(['{"a":1}'], '{"a":2}')).toMatch(/\$\.a: expected 1, got 2/);
    expect(outputMismatch(['{"a":1}'], '{"b":1}')).toMatch(/no key "a"/);
    expect(outputMismatch(['{"a":1}'], '{"a":"1"}')).toMatch(/expected 1, got "1"/);
    expect(outputMismatch(['{"a":[1]}'], '{"a":[]}')).toMatch(/expected 1 elements, got 0/);
    expect(outputMismatch(['{"a":[1]}'], '{"a":[1,2]}')).toMatch(/expected 1 elements, got 2/);
    expect(outputMismatch(['{"a":[1,"…"]}'], '{"a":[1,2]}')).toBeNull();
    expect(outputMismatch(['{"a":[{"m":1},"…"]}'], '{"a":[{"n":1},{"m":1}]}')).toMatch(/\$\.a\[0\]: no key "m"/);
    expect(outputMismatch(['{"a":[{"m":1}]}'], '{"a":[{"m":2}]}')).toMatch(/\$\.a\[0\]\.m: expected 1, got 2/);
    expect(outputMismatch(['{"a":"…","b":null,"c":"v…"}'], '{"a":3,"b":[1],"c":"v1.2"}')).toBeNull();
    expect(outputMismatch(['{"c":"v…"}'], '{"c":"w1"}')).toMatch(/expected "v…", got "w1"/);
    expect(outputMismatch(['{"a":1}'], '{\n  "a": 1\n}')).toMatch(/on 3 lines, the documented one on 1/);
    expect(outputMismatch(["{", '  "a": 1', "}"], '{\n  "a": 1\n}')).toBeNull();
    expect(outputMismatch(["x   1", "z …"], "x 1\ny\nz 42")).toBeNull();
    expect(outputMismatch(["z", "x"], "x\nz")).toMatch(/in order/);
    expect(parseExamples("t.md", "```sh doc-test\n$ echo a \\\nb\nout\n```\n```sh\n$ nope\n```\n")).toEqual([{ file: "t.md", line: 3, command: "echo a b", output: ["out"] }]);
    // Exact lines (test/operations-tour.test.ts): a line "…" stands for any number of lines, nothing else is left out.
    expect(linesMismatch(["a", "…", "c 1"], "a\nb\nb2\nc   1\n")).toBeNull();
    expect(linesMismatch(["a", "…"], "a")).toBeNull();
    expect(linesMismatch(["a", "c"], "a\nb\nc")).toMatch(/lines the doc does not show/);
    expect(linesMismatch(["x 1"], "x 2")).toMatch(/no output line matches "x 1"/);
    expect([...taggedBlocks("```json t=a\n{}\n```\n```sh t=b\n$ x\n```\n```sh\n$ y\n```\n", "t")]).toEqual([["a", { lang: "json", line: 1, body: "{}" }], ["b", { lang: "sh", line: 4, body: "$ x" }]]);
    expect(() => taggedBlocks("```json t=a\n```\n```json t=a\n```\n", "t")).toThrow(/line 3: a second block t=a/);
    // A whole value (operations-tour's log lines and answers): every object has the documented fields, no more; null is null.
    expect(wholeValueMismatch({ a: 1, b: [{ c: "…" }, "…"], n: null }, { b: [{ c: 1 }, { d: 2 }], a: 1, n: null })).toBeNull();
    expect(wholeValueMismatch({ a: 1, b: [{ c: "…" }] }, { a: 1, b: [{ c: 1, d: 2 }] })).toBe("$.b[0]: the doc's fields are c, the host's c,d");
    expect(wholeValueMismatch({ a: "…" }, { a: { any: 1 } })).toBeNull();
    expect(wholeValueMismatch({ a: null }, { a: "x" })).toBe('$.a: expected null, got "x"');
  });
});

for (const [file, list] of examples) {
  if (list.length === 0) continue;
  describe(`examples of ${file}`, () => {
    it(`runs all ${list.length}, in order, against the demo`, async () => {
      const demo = await startDemo();
      try {
        const problems: string[] = [];
        for (const ex of list) {
          const command = demo.substitute(ex.command);
          const r = await sh(command);
          const where = `${ex.file}:${ex.line}: ${ex.command}`;
          const output = demo.documented(r.stdout);
          // Every example is run, and every mismatch reported at once (a later example may depend on an earlier one).
          if (r.code !== 0) problems.push(`${where}\nexit ${r.code}, stderr: ${r.stderr}`);
          else {
            const m = outputMismatch(ex.output, output);
            if (m !== null) problems.push(`${where}\n${m}\noutput:\n${output}`);
          }
        }
        expect(problems.join("\n\n")).toBe("");
      } finally {
        await demo.close();
      }
      // A page's commands run one after another, each within COMMAND_TIMEOUT_MS (test/helpers/doc-examples.ts):
      // docs/other-languages.md compiles and packs four guests, about a minute on an idle machine.
    }, 600_000);
  });
}

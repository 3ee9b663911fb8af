// plugin.json and metadata.json share version, headers, defaultConfig, failurePolicy and budget, read by one
// set of rules (host/plugin/bundle-fields.ts): for each value below both readers accept it or both refuse it,
// naming the same field and the same expectation, so a plugin.json the build accepts never gives a
// metadata.json the host refuses.

import { describe, expect, it } from "vitest";
import { parsePluginJson } from "../host/build/plugin-json.js";
import { parseMetadata } from "../host/plugin/bundle.js";
import { MAX_CONFIG_BYTES, MAX_HEADERS } from "../host/abi/limits.js";

const MODULE_FIELDS = { name: "p", order: 0, abi: 1, sha256: "0".repeat(64) };

/** What a reader says of `fields`: the shared fields it read, or its message after "<field>: expected". */
function outcome(read: () => { version: string; headers: readonly string[] | null; defaultConfig: string; failurePolicy: string; budget?: object }): unknown {
  try {
    const r = read();
    return { version: r.version, headers: r.headers, defaultConfig: r.defaultConfig, failurePolicy: r.failurePolicy, budget: r.budget ?? {} };
  } catch (err) {
    const m = /(\(root\)|[a-zA-Z.[\]0-9]+): expected (.*)$/.exec((err as Error).message);
    return m === null ? (err as Error).message : { refused: m[1], expected: m[2] };
  }
}

const cases: [string, Record<string, unknown>][] = [
  ["the least", { version: "1" }],
  ["every field", { version: "2.0.0", headers: ["X-Canary", "x-zone"], defaultConfig: '{"a":1}', failurePolicy: "closed", budget: { cpuMs: 2.5, fuel: 1000, memoryPages: 64 } }],
  ["no version", {}],
  ["a long version", { version: "v".repeat(65) }],
  ["headers null", { version: "1", headers: null }],
  ["headers not a list", { version: "1", headers: "x-a" }],
  ["a header name with a space", { version: "1", headers: ["bad name"] }],
  ["a header listed twice in two cases", { version: "1", headers: ["X-A", "x-a"] }],
  ["MAX_HEADERS names", { version: "1", headers: Array.from({ length: MAX_HEADERS }, (_, i) => `h${i}`) }],
  ["a defaultConfig over MAX_CONFIG_BYTES", { version: "1", defaultConfig: "x".repeat(MAX_CONFIG_BYTES + 1) }],
  ["failurePolicy maybe", { version: "1", failurePolicy: "maybe" }],
  ["budget not an object", { version: "1", budget: [] }],
  ["a budget field that does not exist", { version: "1", budget: { cpu: 1 } }],
  ["fractional fuel", { version: "1", budget: { fuel: 1.5 } }],
  ["zero memoryPages", { version: "1", budget: { memoryPages: 0 } }],
  ["a negative cpuMs", { version: "1", budget: { cpuMs: -1 } }],
];

describe("plugin.json and metadata.json read their shared fields alike", () => {
  it.each(cases)("%s", (_, fields) => {
    const fromPluginJson = outcome(() => parsePluginJson(JSON.stringify(fields), "plugin.json"));
    const fromMetadata = outcome(() => parseMetadata({ ...MODULE_FIELDS, ...fields }, "p"));
    expect(fromMetadata).toEqual(fromPluginJson);
  });

  it("the cases cover acceptance and refusal", () => {
    const accepted = cases.filter(([, f]) => {
      const o = outcome(() => parsePluginJson(JSON.stringify(f), "plugin.json")) as { refused?: string };
      return o.refused === undefined;
    });
    expect(accepted.map(([n]) => n)).toEqual(["the least", "every field", "headers null", "MAX_HEADERS names"]);
  });

  it("lowercases header names for both", () => {
    expect(parsePluginJson('{"version":"1","headers":["X-Canary"]}', "plugin.json").headers).toEqual(["x-canary"]);
    expect(parseMetadata({ ...MODULE_FIELDS, version: "1", headers: ["X-Canary"] }, "p").headers).toEqual(["x-canary"]);
  });

  it("over MAX_HEADERS, metadata.json has its own code and plugin.json names the field", () => {
    const headers = Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `h${i}`);
    expect(() => parseMetadata({ ...MODULE_FIELDS, version: "1", headers }, "p")).toThrow(expect.objectContaining({ code: "E_BUNDLE_TOO_MANY_HEADERS" }));
    expect(() => parsePluginJson(JSON.stringify({ version: "1", headers }), "plugin.json")).toThrow(/headers: expected at most MAX_HEADERS \(256\) names, got 257/);
  });
});

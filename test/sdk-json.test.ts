// The SDK's JSON parser, hash and ConfigReader, run as compiled wasm through the sdk-probe fixture, whose
// configure answers with what the SDK computed (see test/fixtures/sdk-probe/assembly/index.ts).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBundle, type TestPlugin } from "../sdk/harness/index.js";
import { buildBundles, type Built } from "./fixtures/bundles.js";

let built: Built;
let probe: TestPlugin;

beforeAll(async () => {
  built = await buildBundles(["test/fixtures/sdk-probe"], false);
  probe = await loadBundle(built.dirs["sdk-probe"]!);
}, 60_000);

afterAll(async () => {
  await built?.cleanup();
});

const ask = (config: string): string => {
  const r = probe.configure(config);
  expect(r.ok).toBe(false);
  return r.message!;
};

describe("parseJson: valid input", () => {
  it.each([
    ["null", "null"],
    ["true", "true"],
    [" false ", "false"],
    ["0", "0"],
    ["-12", "-12"],
    ["1.5", "1.5"],
    ["2e3", "2000"],
    ["-0.25E+1", "-2.5"],
    ['""', '""'],
    ['"a\\"b\\\\c\\/d\\n"', '"a\\"b\\\\c/d\\n"'],
    ["[]", "[]"],
    ["{}", "{}"],
    [' { "a" : [ 1 , { "b" : null } ] , "c" : "d" } ', '{"a":[1,{"b":null}],"c":"d"}'],
    ['{"a":1,"a":2}', '{"a":1,"a":2}'],
  ])("%s", (text, canonical) => {
    expect(ask("json:" + text)).toBe("ok " + canonical);
  });

  it("decodes \\uXXXX escapes, surrogate pairs and raw UTF-8", () => {
    expect(ask('json:"\\u00e9\\u4e2d\\ud83d\\ude00"')).toBe('ok "é中😀"');
    expect(ask('json:"é中😀"')).toBe('ok "é中😀"');
    expect(ask('json:"\\u0001\\t"')).toBe('ok "\\u0001\\u0009"');
  });

  it("agrees with JSON.parse on a nested document", () => {
    const doc = { name: "x", list: [1, 2.5, -3, true, false, null, "s"], nested: { deep: { deeper: ["ü", { k: "v" }] } } };
    const canonical = JSON.stringify(doc);
    expect(ask("json:" + JSON.stringify(doc, null, 2))).toBe("ok " + canonical);
  });
});

describe("parseJson: malformed input names what and the byte offset", () => {
  it.each([
    ["", "expected a JSON value, got end of input at byte 0"],
    ["{", "expected a member name string, got end of input at byte 1"],
    ['{"a" 1}', "expected ':' after member name \"a\", got '1' at byte 5"],
    ['{"a":1,}', "expected a member name string, got '}' at byte 7"],
    ["[1 2]", "expected ',' or ']' in an array, got '2' at byte 3"],
    ["[1,]", "expected a JSON value, got ']' at byte 3"],
    ["01", "unexpected '1' after the JSON value at byte 1"],
    ["-", "expected a digit in a number, got end of input at byte 1"],
    ["1.", "expected a digit after the decimal point, got end of input at byte 2"],
    ["1e+", "expected a digit in the exponent, got end of input at byte 3"],
    ["tru", "expected a JSON value, got 't' at byte 0"],
    ['"abc', "unterminated string starting at byte 0 at byte 4"],
    ['"a\\x"', "invalid escape \\x in a string at byte 2"],
    ['"\\u12g4"', "expected 4 hex digits after \\u, got 'g' at byte 5"],
    ['"\\ud83d"', "high surrogate \\ud83d not followed by a low surrogate at byte 1"],
    ['"\\ud83d\\u0041"', "\\u41 after a high surrogate is not a low surrogate at byte 7"],
    ['"\\ude00"', "lone low surrogate \\ude00 at byte 1"],
    ['"a\nb"', "control character 0xa in a string (escape it) at byte 2"],
    ['"é" x', "unexpected 'x' after the JSON value at byte 5"],
  ])("%j", (text, error) => {
    expect(ask("json:" + text)).toBe("error " + error);
  });

  it("bounds nesting depth", () => {
    expect(ask("json:" + "[".repeat(64) + "]".repeat(64))).toMatch(/^ok \[\[/);
    expect(ask("json:" + "[".repeat(65) + "]".repeat(65))).toBe("error nesting deeper than 64 levels at byte 64");
  });
});

describe("fnv1a32", () => {
  const fnv = (s: string): number => {
    let h = 0x811c9dc5;
    for (const b of Buffer.from(s, "utf8")) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return h;
  };
  it.each(["", "a", "foobar", "user-42", "ü😀中"])("matches the documented TypeScript form for %j", (s) => {
    expect(Number(ask("hash:" + s))).toBe(fnv(s));
  });
  it("has the documented reference values", () => {
    expect(Number(ask("hash:"))).toBe(0x811c9dc5);
    expect(Number(ask("hash:a"))).toBe(0xe40c292c);
    expect(Number(ask("hash:foobar"))).toBe(0xbf9cf968);
  });
});

describe("ConfigReader", () => {
  it("reads typed fields with defaults", () => {
    expect(ask('reader:{"header":"h","values":["a","b"]}')).toBe("ok h|a,b|7|false");
    expect(ask('reader:{"header":"h","values":["a"],"n":100,"flag":true}')).toBe("ok h|a|100|true");
    expect(ask('reader:{"header":"h","values":["a"],"n":null}')).toBe("ok h|a|7|false");
  });
  it.each([
    ['{"values":["a"]}', 'config field "header": required, expected a non-empty string'],
    ['{"header":"h","values":["a"],"n":-1}', 'config field "n": expected an integer in 0..100, got -1'],
    ['{"header":"h","values":["a"],"n":1e400}', 'config field "n": expected an integer in 0..100, got Infinity'],
    ['{"header":"h","values":["a"],"flag":1}', 'config field "flag": expected true or false, got number'],
    ['{"header":"h","values":["a"],"extra":1}', 'config field "extra": unknown; expected one of header, values, n, flag'],
    ['"just a string"', "config: expected a JSON object, got string"],
    ["{oops}", "config is not valid JSON: expected a member name string, got 'o' at byte 1"],
  ])("%s", (text, error) => {
    expect(ask("reader:" + text)).toBe("error " + error);
  });
});

describe("ConfigReader: string maps, and an optional array whose default is empty", () => {
  it("reads an object of strings in the config's order, and the fallback when absent or null", () => {
    expect(ask('map:{"shards":{"acme":"s1","beta":"s2"}}')).toBe("ok acme=s1,beta=s2||x=y");
    expect(ask('map:{"shards":{"acme":"s1"},"aliases":null}')).toBe("ok acme=s1||x=y");
    expect(ask('map:{"shards":{"acme":"s1"},"aliases":{}}')).toBe("ok acme=s1||");
    expect(ask('map:{"shards":{"acme":"s1"},"aliases":{"a":"b"}}')).toBe("ok acme=s1||a=b");
  });
  it("accepts [] for optionalStringArray(field, []), and a non-empty array", () => {
    expect(ask('map:{"shards":{"acme":"s1"},"tags":[]}')).toBe("ok acme=s1||x=y");
    expect(ask('map:{"shards":{"acme":"s1"},"tags":["t1","t2"]}')).toBe("ok acme=s1|t1,t2|x=y");
  });
  it.each([
    ["{}", 'config field "shards": required, expected an object of strings'],
    ['{"shards":{}}', 'config field "shards": expected a non-empty object of strings, got {}'],
    ['{"shards":["s1"]}', 'config field "shards": expected an object of strings, got array'],
    ['{"shards":{"acme":1}}', 'config field "shards.acme": expected a string, got number'],
    ['{"shards":{"acme":""}}', 'config field "shards.acme": expected a non-empty string, got ""'],
    ['{"shards":{"acme":"s1"},"aliases":"a"}', 'config field "aliases": expected an object of strings, got string'],
    ['{"shards":{"acme":"s1"},"tags":[1]}', 'config field "tags[0]": expected a string, got number'],
  ])("%s", (text, error) => {
    expect(ask("map:" + text)).toBe("error " + error);
  });
});

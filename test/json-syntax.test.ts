// The host's one JSON scanner (host/util/json-syntax.ts): the place JSON.parse refused, found again, named by
// byte offset, line and column, quoting nothing of the text.

import { describe, expect, it } from "vitest";
import { jsonSyntaxError, lineColumn } from "../host/util/json-syntax.js";

describe("jsonSyntaxError", () => {
  it("is null exactly when JSON.parse accepts the text", () => {
    for (const t of ['{"a":[1,2,{"b":null}],"c":"\\u00e9\\n"}', "[]", " 0 ", '"x"', "-1.5e3", "{}", "[[[]]]"]) {
      expect([t, jsonSyntaxError(t)]).toEqual([t, null]);
      expect(() => JSON.parse(t)).not.toThrow();
    }
  });

  it.each([
    ['{"a":1,}', 7, { expected: "a property name in double quotes", trailingComma: true, atEnd: false }],
    ["[1,]", 3, { expected: "a value", trailingComma: true, message: "trailing commas are not allowed, expected a value" }],
    ['{"a" 1}', 5, { expected: '":" after a property name', message: 'expected ":" after a property name' }],
    ["[1 2]", 3, { expected: "',' or ']'" }],
    ["{} x", 3, { expected: "the end of the document" }],
    ['{"a":', 5, { atEnd: true, message: "unexpected end of input, expected a value" }],
    ['"a\\q"', 3, { expected: expect.stringContaining("an escape") }],
  ] as const)("%s: at index %i", (text, index, fields) => {
    expect(jsonSyntaxError(text)).toMatchObject({ index, ...fields });
    expect(() => JSON.parse(text)).toThrow();
  });

  it("counts the offset in UTF-8 bytes and the column in characters", () => {
    // "é" is two bytes; the bad character is the 7th character of line 2.
    const text = '{\n "é": x}';
    expect(jsonSyntaxError(text)).toMatchObject({ offset: 9, index: 8, line: 2, column: 7, expected: "a value" });
    expect(lineColumn(text, 0)).toEqual({ line: 1, column: 1 });
  });

  it("walks any depth without a stack: 200,000 open arrays end as an incomplete text", () => {
    const text = "[".repeat(200_000);
    expect(jsonSyntaxError(text)).toMatchObject({ atEnd: true, offset: 200_000, expected: "a value" });
  });

  it("never quotes the text", () => {
    const e = jsonSyntaxError('{"name": s3cr3t-token}')!;
    expect(JSON.stringify(e)).not.toContain("s3cr3t");
    expect(e).toMatchObject({ offset: 9, line: 1, column: 10, message: "expected a value" });
  });
});

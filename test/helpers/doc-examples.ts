// The docs' runnable examples, read from the markdown and compared with real output (test/docs-examples.test.ts
// runs every ```sh doc-test block against the demo; test/operations-tour.test.ts runs docs/operations.md's
// ```… operations-tour=<name> blocks against hosts of their own).
//
// Placeholders say what varies: in JSON, null and the string "…" stand for any value, a string holding "…"
// matches any string with the same text around it, an array ending in "…" may have more elements; in text,
// "…" in a line matches anything and a run of spaces matches any run of spaces.

import { execFile } from "node:child_process";

const REPO = new URL("../../", import.meta.url).pathname;

export interface Example {
  readonly file: string;
  readonly line: number;
  readonly command: string;
  readonly output: string[];
}

/**
 * The examples of one markdown file, in order: the `$ ` commands of its fenced blocks whose info string `marker`
 * matches (```sh doc-test by default) and, after each, its documented output.
 */
export function parseExamples(file: string, text: string, marker: RegExp = /^sh\s+doc-test\b/): Example[] {
  const out: Example[] = [];
  const lines = text.split("\n");
  let inBlock = false;
  let marked = false;
  let current: { line: number; command: string; output: string[] } | null = null;
  const flush = () => {
    if (current !== null) out.push({ file, ...current, output: current.output });
    current = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const fence = /^```(.*)$/.exec(l);
    if (fence !== null) {
      if (!inBlock) {
        inBlock = true;
        marked = marker.test(fence[1]!.trim());
      } else {
        flush();
        inBlock = false;
        marked = false;
      }
      continue;
    }
    if (!inBlock || !marked) continue;
    if (l.startsWith("$ ")) {
      flush();
      let command = l.slice(2);
      while (command.endsWith("\\") && i + 1 < lines.length) command = command.slice(0, -1) + lines[++i]!;
      current = { line: i + 1, command, output: [] };
    } else if (current !== null) {
      current.output.push(l);
    }
  }
  return out;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Where `actual` differs from the documented value, or null. Placeholders say what varies: null and the
 * string "…" stand for any value; a string holding "…" matches any string with the same text around it; an
 * array ending in "…" may have more elements than the ones documented, in order. An object may have more
 * keys than documented (a doc shows the ones it talks about).
 */
export function valueMismatch(doc: Json, actual: Json, path = "$"): string | null {
  if (doc === null || doc === "…") return null;
  if (Array.isArray(doc)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    // A last element "…" documents "and more": the documented elements are the first ones.
    const open = doc.length > 0 && doc[doc.length - 1] === "…";
    const n = open ? doc.length - 1 : doc.length;
    if (open ? actual.length < n : actual.length !== n) return `${path}: expected ${open ? "at least " : ""}${n} elements, got ${actual.length}: ${JSON.stringify(actual).slice(0, 200)}`;
    for (let i = 0; i < n; i++) {
      const m = valueMismatch(doc[i]!, actual[i]!, `${path}[${i}]`);
      if (m !== null) return m;
    }
    return null;
  }
  if (typeof doc === "object") {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    for (const k of Object.keys(doc)) {
      if (!(k in actual)) return `${path}: no key "${k}" (has ${Object.keys(actual).join(", ")})`;
      const m = valueMismatch(doc[k]!, actual[k]!, `${path}.${k}`);
      if (m !== null) return m;
    }
    return null;
  }
  if (typeof doc === "string" && doc.includes("…")) {
    return typeof actual === "string" && linePattern(doc).test(actual) ? null : `${path}: expected ${JSON.stringify(doc)}, got ${JSON.stringify(actual)}`;
  }
  return doc === actual ? null : `${path}: expected ${JSON.stringify(doc)}, got ${JSON.stringify(actual)}`;
}

/**
 * What valueMismatch leaves open, for a doc that shows a whole value (a log line, an answer), or null: every
 * object has exactly the documented fields, and a documented null is null ("…" is then the only placeholder).
 * Values documented as "…" are not looked into.
 */
export function wholeValueMismatch(doc: Json, actual: Json, path = "$"): string | null {
  if (doc === null) return actual === null ? null : `${path}: expected null, got ${JSON.stringify(actual)}`;
  if (typeof doc !== "object" || actual === null || typeof actual !== "object") return null;
  if (Array.isArray(doc)) {
    if (!Array.isArray(actual)) return null;
    const n = doc.length > 0 && doc[doc.length - 1] === "…" ? doc.length - 1 : doc.length;
    for (let i = 0; i < Math.min(n, actual.length); i++) {
      const m = wholeValueMismatch(doc[i]!, actual[i]!, `${path}[${i}]`);
      if (m !== null) return m;
    }
    return null;
  }
  if (Array.isArray(actual)) return null;
  const keys = (o: object) => Object.keys(o).sort().join();
  if (keys(doc) !== keys(actual)) return `${path}: the doc's fields are ${keys(doc)}, the host's ${keys(actual)}`;
  for (const k of Object.keys(doc)) {
    const m = wholeValueMismatch(doc[k]!, actual[k]!, `${path}.${k}`);
    if (m !== null) return m;
  }
  return null;
}

/** A documented line as a pattern: "…" matches anything, a run of spaces any run of spaces. */
export function linePattern(doc: string): RegExp {
  const parts = doc.trim().split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/ +/g, " +"));
  return new RegExp(`^\\s*${parts.join(".*")}\\s*$`);
}

/** Where the output lacks the documented lines, or null. */
export function textMismatch(doc: readonly string[], actual: string): string | null {
  const lines = actual.split(/\r?\n/);
  let at = 0;
  for (const d of doc) {
    if (d.trim() === "") continue;
    const re = linePattern(d);
    while (at < lines.length && !re.test(lines[at]!)) at++;
    if (at === lines.length) return `no output line matches ${JSON.stringify(d)} (in order)`;
    at++;
  }
  return null;
}

export function outputMismatch(doc: readonly string[], actual: string): string | null {
  const text = doc.join("\n").trim();
  if (text.startsWith("{") || text.startsWith("[")) {
    let documented: Json;
    try {
      documented = JSON.parse(text) as Json;
    } catch (err) {
      return `the documented output is not JSON: ${(err as Error).message}`;
    }
    let got: Json;
    try {
      got = JSON.parse(actual) as Json;
    } catch {
      return `the output is not JSON: ${actual.slice(0, 300)}`;
    }
    // The admin API pretty-prints: documented JSON on one line claims an output it does not give.
    const lines = (t: string) => t.trim().split("\n").length;
    if ((lines(text) === 1) !== (lines(actual) === 1)) return `the output is JSON on ${lines(actual)} lines, the documented one on ${lines(text)}`;
    return valueMismatch(documented, got);
  }
  return textMismatch(doc, actual);
}

/**
 * Where `actual` is not exactly the documented lines, or null: line for line (linePattern), where a documented
 * line that is only "…" stands for any number of lines. Blank lines at either end do not count.
 */
export function linesMismatch(doc: readonly string[], actual: string): string | null {
  const want = trimBlank(doc);
  const got = trimBlank(actual.split(/\r?\n/));
  const match = (d: number, a: number): boolean => {
    if (d === want.length) return a === got.length;
    if (want[d]!.trim() === "…") {
      for (let k = a; k <= got.length; k++) if (match(d + 1, k)) return true;
      return false;
    }
    return a < got.length && linePattern(want[d]!).test(got[a]!) && match(d + 1, a + 1);
  };
  if (match(0, 0)) return null;
  // Name the first documented line that cannot be matched in order, for the report.
  let at = 0;
  for (const d of want) {
    if (d.trim() === "…") continue;
    const re = linePattern(d);
    while (at < got.length && !re.test(got[at]!)) at++;
    if (at === got.length) return `no output line matches ${JSON.stringify(d)} (in order); output:\n${got.join("\n")}`;
    at++;
  }
  return `the output has lines the doc does not show; output:\n${got.join("\n")}`;
}

function trimBlank(lines: readonly string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && lines[a]!.trim() === "") a++;
  while (b > a && lines[b - 1]!.trim() === "") b--;
  return lines.slice(a, b);
}

/** The body and line of every fenced block whose info string is `<lang> <tag>=<name>`, by name; a name twice is an error. */
export function taggedBlocks(text: string, tag: string): Map<string, { readonly lang: string; readonly line: number; readonly body: string }> {
  const out = new Map<string, { lang: string; line: number; body: string }>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(.*)$/.exec(lines[i]!);
    if (fence === null) continue;
    const info = fence[1]!.trim();
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith("```")) end++;
    const m = new RegExp(`^(\\S+)\\s+${tag}=(\\S+)$`).exec(info);
    if (m !== null) {
      if (out.has(m[2]!)) throw new Error(`line ${i + 1}: a second block ${tag}=${m[2]}`);
      out.set(m[2]!, { lang: m[1]!, line: i + 1, body: lines.slice(i + 1, end).join("\n") });
    }
    i = end;
  }
  return out;
}

/**
 * How long one documented command may run. The slowest, `switchyard pack` of the 11 MB JavaScript component
 * (docs/other-languages.md: instrumenting every core module), takes ~9 s on an idle 2-core machine and more than
 * twice that beside the rest of make test; a command past this is killed and reported as timed out.
 */
const COMMAND_TIMEOUT_MS = 180_000;

/** Runs a documented command with bash (pipefail) in the repository, with no admin token in its environment. */
export function sh(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-o", "pipefail", "-c", command], { cwd: REPO, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, SWITCHYARD_ADMIN_TOKEN: "" } }, (err, stdout, stderr) => {
      if (err !== null && err.killed) stderr += `\n(killed by ${err.signal ?? "a signal"} after the ${COMMAND_TIMEOUT_MS / 1000} s a documented command may run)`;
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

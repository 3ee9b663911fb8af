// `switchyard check --strict` and the leak warning, on the repository's example configs; `--version` from
// the built command (bin/switchyard.js runs dist/, which `make test` builds first).

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { run as check } from "../host/cli/check.js";
import { REPO } from "./helpers/host-process.js";

const EXAMPLES = join(REPO, "examples/configs");
const dir = mkdtempSync(join(tmpdir(), "sy-strict-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe("switchyard check", () => {
  it('warns about fallback "any" behind plugins, naming the route; --strict exits 1', async () => {
    const demo = join(EXAMPLES, "demo.json");
    const c = capture();
    expect(await check([demo], c.io)).toBe(0);
    const leak = c.out.find((l) => l.includes('fallback "any"'));
    expect(leak).toMatch(/^warning: servers\[0\]\.routers\[0\]\.virtual_hosts\[0\]\.routers\[\d+\]\.route: fallback "any" behind every loaded plugin \(cluster "demo"\)/);
    const s = capture();
    expect(await check([demo, "--strict"], s.io)).toBe(1);
    expect(s.out).toContain(leak);
    expect(s.err).toEqual([expect.stringMatching(/^E_CONFIG_WARNINGS: .*demo\.json: \d+ warnings? and --strict$/)]);
  });

  it("--strict passes a config without warnings and fails one with an ignored field", async () => {
    const doc = JSON.parse(readFileSync(join(EXAMPLES, "demo.json"), "utf8"));
    const text = JSON.stringify(doc).replaceAll('"fallback":"any"', '"fallback":"none"');
    const clean = join(dir, "clean.json");
    writeFileSync(clean, text);
    const c = capture();
    expect(await check([clean, "--strict"], c.io)).toBe(0);
    expect(c.out).toEqual([expect.stringMatching(/0 warnings$/)]);
    const m = capture();
    expect(await check([join(EXAMPLES, "mosn-http-proxy.json"), "--strict"], m.io)).toBe(1);
    expect(m.out).toContain("warning: servers[0].listeners[0].bind_port: not supported by Switchyard; ignored");
  });

  it("exits 2 on an unknown flag", async () => {
    const c = capture();
    expect(await check([join(EXAMPLES, "demo.json"), "--strikt"], c.io)).toBe(2);
    expect(c.err[0]).toBe("usage: switchyard check <config.json> [--strict]");
  });
});

describe("switchyard --version", () => {
  it("prints package.json's version and exits 0", async () => {
    const version = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;
    const { stdout } = await promisify(execFile)("node", ["bin/switchyard.js", "--version"], { cwd: REPO });
    expect(stdout).toBe(`switchyard-proxy ${version}\n`);
  });
});

// The deployment files (issue 16): images cannot be built here, so the Dockerfile is parsed and its commands'
// shape checked against this repository (a node:20 base, npm ci from the lock file, the package's own build
// script, production dependencies only at run time, what is copied exists or is built, a user that is not
// root, the ports exposed, and a CMD whose `switchyard run` flags our CLI accepts, with a grace under docker
// stop's 10 s). The systemd unit likewise: ExecStart's flags, ExecReload's SIGHUP, a stop timeout past the grace.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs, str } from "../host/cli/args.js";
import { RUN_OPTIONS } from "../host/cli/run.js";
import { parseDurationMs } from "../host/config/index.js";
import { REPO } from "./helpers/host-process.js";

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Dockerfile instructions: comments dropped, continued lines joined. */
function instructions(text: string): Instruction[] {
  const joined = text.split("\n").filter((l) => !/^\s*#/.test(l)).join("\n").replace(/\\\n/g, " ");
  return joined.split("\n").map((l) => l.trim()).filter((l) => l !== "").map((l) => {
    const m = /^(\S+)\s+(.*)$/.exec(l)!;
    return { op: m[1]!.toUpperCase(), args: m[2]! };
  });
}

/** The flags of a `switchyard run` command line, parsed as the CLI parses them (throws a UsageError otherwise). */
function runFlags(argv: readonly string[]) {
  const i = argv.indexOf("run");
  expect(i).toBeGreaterThan(0);
  expect(argv[i - 1]).toMatch(/(^|\/)bin\/switchyard\.js$/);
  return parseArgs(argv.slice(i + 1), RUN_OPTIONS);
}

const graceMsOf = (p: ReturnType<typeof runFlags>) => {
  const ms = parseDurationMs(str(p, "grace") ?? "30s");
  expect(typeof ms).toBe("number");
  return ms as number;
};

describe("Dockerfile", async () => {
  const all = instructions(await readFile(join(REPO, "Dockerfile"), "utf8"));
  const stages: Instruction[][] = [];
  for (const ins of all) {
    if (ins.op === "FROM") stages.push([]);
    stages.at(-1)!.push(ins);
  }
  const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string>; files: string[]; engines?: unknown };

  it("builds on node 20 with npm ci from the lock file and the package's build script", () => {
    expect(stages.length).toBe(2);
    for (const s of stages) expect(s[0]!.args).toMatch(/^node:20(-|\b)/);
    const [build, runtime] = stages as [Instruction[], Instruction[]];
    const ops = build.map((i) => `${i.op} ${i.args}`);
    const lock = ops.indexOf("COPY package.json package-lock.json ./");
    expect(lock).toBeGreaterThan(0);
    expect(ops.indexOf("RUN npm ci")).toBeGreaterThan(lock);
    const script = /^RUN npm run (\S+)$/.exec(ops.find((o) => o.startsWith("RUN npm run"))!)![1]!;
    expect(pkg.scripts[script]).toBe("tsc -p tsconfig.json");
    expect(runtime.some((i) => i.op === "RUN" && /npm ci --omit=dev --ignore-scripts/.test(i.args))).toBe(true);
  });

  it("copies what exists in the repository or what the build makes, and every file the package ships that run needs", () => {
    const copies = all.filter((i) => i.op === "COPY").map((i) => i.args.split(/\s+/));
    const fromBuild = copies.filter((c) => c[0] === "--from=build").map((c) => c[1]!.replace(/^\/src\//, ""));
    for (const c of copies.filter((x) => !x[0]!.startsWith("--from"))) for (const src of c.slice(0, -1)) if (src !== ".") expect(existsSync(join(REPO, src)), src).toBe(true);
    // The build stage's tsc writes dist/host and dist/sdk (this worktree's build shows it).
    for (const src of fromBuild) expect(existsSync(join(REPO, src)), src).toBe(true);
    for (const f of pkg.files.filter((x) => x !== "docs/" && x !== "README.md")) expect(fromBuild).toContain(f.replace(/\/$/, ""));
  });

  it("runs as a user that is not root, exposes the proxy and admin ports, and stops on SIGTERM", () => {
    const runtime = stages[1]!;
    const user = runtime.filter((i) => i.op === "USER").at(-1)!.args;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.find((i) => i.op === "EXPOSE")!.args.split(/\s+/)).toEqual(["8080", "9901"]);
    expect(runtime.find((i) => i.op === "STOPSIGNAL")?.args).toBe("SIGTERM");
  });

  it("has a CMD whose switchyard run flags our CLI accepts, with a grace under docker stop's 10 s", () => {
    const cmd = JSON.parse(all.filter((i) => i.op === "CMD").at(-1)!.args) as string[];
    expect(cmd[0]).toBe("node");
    const p = runFlags(cmd);
    expect(str(p, "config")).toBe("/etc/switchyard/switchyard.json");
    expect(str(p, "state")).toMatch(/^\/var\/lib\/switchyard\//);
    expect(graceMsOf(p)).toBeLessThan(10_000);
  });
});

describe("systemd unit", async () => {
  const text = await readFile(join(REPO, "deploy/switchyard.service"), "utf8");
  const keys = new Map<string, string>();
  let section = "";
  for (const line of text.split("\n")) {
    const l = line.trim();
    if (l === "" || l.startsWith("#")) continue;
    const s = /^\[(\w+)\]$/.exec(l);
    if (s !== null) section = s[1]!;
    else keys.set(`${section}.${l.slice(0, l.indexOf("="))}`, l.slice(l.indexOf("=") + 1));
  }

  it("starts switchyard run with flags our CLI accepts, reloads with SIGHUP, and stops within the grace", () => {
    const p = runFlags(keys.get("Service.ExecStart")!.split(/\s+/));
    expect(str(p, "config")).toBe("/etc/switchyard/switchyard.json");
    expect(keys.get("Service.ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(keys.get("Service.KillSignal")).toBe("SIGTERM");
    expect(Number(keys.get("Service.TimeoutStopSec")) * 1000).toBeGreaterThan(graceMsOf(p));
    expect(keys.get("Service.User")).not.toBe("root");
    expect(keys.get("Install.WantedBy")).toBe("multi-user.target");
  });
});

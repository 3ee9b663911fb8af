// `switchyard run` as a real child process (bin/switchyard.js, the compiled dist/), for tests that kill it,
// restart it, or run it with --workers N. Its pino lines are parsed as they come; the listener and admin
// addresses are read from them.
//
//   const p = await spawnHost({ configFile, args: ["--workers", "2"], env: { SWITCHYARD_ADMIN_TOKEN: "t" } });
//   await fetch(`${p.adminUrl}/plugins`);
//   p.kill("SIGKILL"); await p.exited;

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import http, { type IncomingHttpHeaders } from "node:http";
import { copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { request } from "undici";

// From test/helpers/, or from dist/test/helpers/ when a bench (bench/fleet.ts) runs the compiled helpers.
export const REPO = new URL(import.meta.url.includes("/dist/test/") ? "../../../" : "../../", import.meta.url).pathname;

export interface HostProcess {
  readonly child: ChildProcess;
  /** Every pino line of the process (and its workers), parsed, in arrival order. */
  readonly logs: Record<string, unknown>[];
  readonly listenerUrl: string;
  readonly adminUrl: string;
  /** Resolves with the exit code (or signal name) when the process is gone. */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
  /** Waits until a log line satisfies `pred`; throws with the last lines after `timeoutMs`. */
  waitForLog(what: string, pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export interface SpawnOptions {
  readonly configFile: string;
  /** The CLI to run (default: this repository's bin/switchyard.js), e.g. an installed package's. */
  readonly bin?: string;
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  /** How long to wait for the listener and admin API (default 60 s: a loaded 2-core machine is slow). */
  readonly startTimeoutMs?: number;
  /** Log lines that must have appeared before the host counts as started (e.g. every worker ready). */
  readonly readyWhen?: (logs: readonly Record<string, unknown>[]) => boolean;
}

export async function spawnHost(opts: SpawnOptions): Promise<HostProcess> {
  const child = spawn(process.execPath, [opts.bin ?? join(REPO, "bin/switchyard.js"), "run", "--config", opts.configFile, ...(opts.args ?? [])], {
    cwd: REPO,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  let partial = "";
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === "") continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: "(not JSON)", text: line });
      }
    }
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const w of waiters) w();
  });

  function waitForLog(what: string, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let checked = 0;
      const check = () => {
        for (; checked < logs.length; checked++) {
          if (pred(logs[checked]!)) {
            cleanup();
            resolve(logs[checked]!);
            return;
          }
        }
        if (gone) {
          cleanup();
          reject(new Error(`host exited while waiting for ${what}; stderr: ${stderr.slice(-2000)}; last lines: ${JSON.stringify(logs.slice(-5))}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${stderr.slice(-2000)}; last lines: ${JSON.stringify(logs.slice(-5))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }

  const timeout = opts.startTimeoutMs ?? 60_000;
  try {
    const listener = await waitForLog("a listener", (l) => l.msg === "listener started", timeout);
    const admin = await waitForLog("the admin API", (l) => l.msg === "admin API started", timeout);
    if (opts.readyWhen) await waitForLog("readiness", () => opts.readyWhen!(logs), timeout);
    return {
      child,
      logs,
      listenerUrl: `http://${String(listener.address)}`,
      adminUrl: `http://${String(admin.address)}`,
      exited,
      kill: (signal = "SIGTERM") => {
        if (!gone) child.kill(signal);
      },
      waitForLog,
    };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}

/** One `switchyard <args>` command to its end: exit code, stdout, stderr; `stdin` is its standard input. */
export function cli(args: readonly string[], stdin = "", env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO, "bin/switchyard.js"), ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  child.stdin!.end(stdin);
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

/** One request over a fresh connection (so that each may land on another worker); the body as text. */
export function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { ...headers, connection: "close" } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** A PUT to the admin API with the bearer token. */
export async function put(url: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(url, { method: "PUT", headers, body });
  const text = await res.body.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.statusCode, json };
}

/**
 * A MOSN-shaped config: one listener and the admin API on 127.0.0.1 port 0, one route "/" to cluster "c" with
 * every loaded plugin in its chain, and `hosts` tagged as given.
 */
export function hostConfig(opts: { hosts: readonly { address: string; tags: Record<string, string> }[]; pluginsDir?: string; stateDir?: string; fallback?: string }): object {
  return {
    switchyard: { ...(opts.pluginsDir ? { plugins_dir: opts.pluginsDir } : {}), ...(opts.stateDir ? { state_dir: opts.stateDir } : {}), log_level: "info" },
    servers: [
      {
        routers: [
          {
            router_config_name: "r",
            virtual_hosts: [
              {
                name: "any",
                domains: ["*"],
                routers: [{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "10s", switchyard: { fallback: opts.fallback ?? "none" } } }],
              },
            ],
          },
        ],
        listeners: [
          {
            name: "main",
            address: "127.0.0.1:0",
            filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }] }],
          },
        ],
      },
    ],
    cluster_manager: {
      clusters: [
        {
          name: "c",
          type: "SIMPLE",
          lb_type: "LB_ROUNDROBIN",
          connect_timeout: "2s",
          hosts: opts.hosts.map((h) => ({ address: h.address, metadata: { filter_metadata: { "mosn.lb": h.tags } } })),
        },
      ],
    },
    admin: { address: "127.0.0.1:0" },
  };
}

export { memoryLog } from "./memory-log.js";

/** The built header-canary bundle (make build) with another default config and metadata version. */
export async function canaryVariant(dir: string, opts: { version: string; tagValue: string; others?: string }): Promise<void> {
  const from = join(REPO, "build/plugins/header-canary");
  await mkdir(dir, { recursive: true });
  await copyFile(join(from, "plugin.wasm"), join(dir, "plugin.wasm"));
  const meta = JSON.parse(await readFile(join(from, "metadata.json"), "utf8")) as Record<string, unknown>;
  meta.version = opts.version;
  meta.defaultConfig = JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue: opts.tagValue, others: opts.others ?? "non-canary" });
  await writeFile(join(dir, "metadata.json"), JSON.stringify(meta, null, 2));
}

/**
 * The files of one host of a fleet test: header-canary (its default config routes `x-canary: 1` to tag value
 * "canary") in <root>/<id>/plugins, the state folder <root>/<id>/state, and the config <root>/<id>.json with
 * `upstreams` tagged `version` by their names without the digits ("canary0" → canary). Resolves the config file.
 */
export async function canaryHostFiles(root: string, id: string, upstreams: readonly { readonly address: string; readonly name: string }[]): Promise<string> {
  await canaryVariant(join(root, id, "plugins", "header-canary"), { version: "1.0.0", tagValue: "canary" });
  const cfg = hostConfig({
    hosts: upstreams.map((u) => ({ address: u.address, tags: { version: u.name.replace(/\d+$/, "") } })),
    pluginsDir: join(root, id, "plugins"),
    stateDir: join(root, id, "state"),
  });
  const file = join(root, `${id}.json`);
  await writeFile(file, JSON.stringify(cfg));
  return file;
}

/**
 * Puts `data` at `path` whole: written next to the folder, then renamed in. A bundle rewritten this way file
 * by file is seen by the watcher with each file either old or new, never half written, so that a test can
 * require zero refusals on a machine of any speed.
 */
export async function replaceFile(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(dirname(path)), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}`);
  await writeFile(tmp, data);
  await rename(tmp, path);
}

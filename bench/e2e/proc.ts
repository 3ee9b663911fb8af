// Processes of the end-to-end bench: spawning (optionally pinned with taskset), waiting for a port, stopping
// by pid, and the CPU time of a whole process tree read from /proc/<pid>/stat (utime + stime of every live
// descendant), which is what "proxy CPU per request" divides; for the RSS bench, a process's VmRSS and the
// ports something listens on (so that hosts meant to be dead are at ports nobody answers).

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, connect } from "node:net";

/** Clock ticks per second of /proc's utime/stime; 100 on every Linux we know, asked once. */
export const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number.parseInt(r.stdout ?? "", 10);
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && existsSync(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  }
  for (const dir of ["/usr/sbin", "/sbin", "/usr/local/sbin"]) if (existsSync(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  return null;
}

/** A port free right now on 127.0.0.1 (the kernel's pick; a tiny race with other users of the machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves when a TCP connect to 127.0.0.1:port succeeds; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, child?: Spawned): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child?.exited) throw new Error(`${child.name} exited (code ${child.exitCode}) before listening on ${port}: ${child.output().slice(-600)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, "127.0.0.1");
      sock.once("connect", () => { sock.destroy(); resolve(true); });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Spawned {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  exited: boolean;
  exitCode: number | null;
  /** The last 16 KB of stdout + stderr, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** `cpus` non-empty: run under `taskset -c <cpus>`; taskset execs the command, so the pid is the command's. */
export function start(name: string, cmd: string, args: readonly string[], cpus: string | null, env?: NodeJS.ProcessEnv): Spawned {
  const [file, argv] = cpus ? ["taskset", ["-c", cpus, cmd, ...args]] : [cmd, [...args]];
  const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
  let out = "";
  const keep = (d: Buffer) => { out = (out + d.toString("utf8")).slice(-16_384); };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const s: Spawned = {
    name,
    pid: child.pid ?? -1,
    child,
    exited: false,
    exitCode: null,
    output: () => out,
    stop: () => stopChild(s),
  };
  child.once("exit", (code) => { s.exited = true; s.exitCode = code; });
  child.once("error", (err) => { s.exited = true; out += String(err); });
  return s;
}

/** SIGTERM, then SIGKILL after 3 s; the process tree's other members (nginx workers) follow their master. */
async function stopChild(s: Spawned): Promise<void> {
  if (s.exited) return;
  const done = new Promise<void>((resolve) => s.child.once("exit", () => resolve()));
  s.child.kill("SIGTERM");
  const timer = setTimeout(() => { if (!s.exited) s.child.kill("SIGKILL"); }, 3_000);
  await done;
  clearTimeout(timer);
}

/** Every pid of the tree rooted at `root` (root included), from the ppid field of /proc/<pid>/stat. */
export function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const f = statFields(pid);
    if (f !== null) parent.set(pid, Number(f[1]));
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/** Fields of /proc/<pid>/stat after the command name: [0] = state, [1] = ppid, [11] = utime, [12] = stime. */
function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may hold spaces or parentheses: split after the last ')'.
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** utime + stime, in µs, summed over the live process tree of `root`. */
export function treeCpuMicros(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const f = statFields(pid);
    if (f !== null) ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks * 1e6) / CLK_TCK;
}

/** Resident set size of one process in KiB (VmRSS of /proc/<pid>/status), or null once it is gone. */
export function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** TCP ports something listens on, on any address: the LISTEN rows (state 0A) of /proc/net/tcp and tcp6. */
export function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue; // no IPv6 (or no /proc): nothing listens there that we could see
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === "0A" && f[1] !== undefined) ports.add(Number.parseInt(f[1].slice(f[1].lastIndexOf(":") + 1), 16));
    }
  }
  return ports;
}

// One load run against one URL: wrk (-t1, --latency) when installed, else the undici load generator of
// load.ts in its own process. Both are bounded in time; load.ts in count too.

import { start } from "./proc.js";
import type { LoadResult, LoadSpec } from "./load.js";

export type LoadTool = "wrk" | "node";

export async function runLoad(tool: LoadTool, spec: LoadSpec, cpus: string | null, loadScript: string): Promise<LoadResult> {
  if (tool === "wrk") {
    const secs = Math.max(1, Math.round(spec.durationMs / 1000));
    const headers = Object.entries(spec.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
    const p = start("wrk", "wrk", ["-t1", `-c${spec.connections}`, `-d${secs}s`, "--timeout", "5s", "--latency", ...headers, spec.url], cpus);
    await waitExit(p.child, (secs + 15) * 1000);
    return parseWrk(p.output());
  }
  const p = start("load", process.execPath, [loadScript, JSON.stringify(spec)], cpus);
  await waitExit(p.child, spec.durationMs + 30_000);
  const line = p.output().trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as LoadResult;
  } catch {
    throw new Error(`load generator failed: ${p.output().slice(-600)}`);
  }
}

function waitExit(child: import("node:child_process").ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => { clearTimeout(timer); resolve(); });
  });
}

/** Reads wrk's summary: "N requests in Xs", the latency distribution, non-2xx and socket errors. */
export function parseWrk(out: string): LoadResult {
  const req = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  if (!req) throw new Error(`wrk output not understood: ${out.slice(-600)}`);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    return m ? toMs(Number(m[1]), m[2]!) : NaN;
  };
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = (non2xx ? Number(non2xx[1]) : 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { requests: Number(req[1]), seconds: toMs(Number(req[2]), req[3]!) / 1000, p50Ms: pct("50"), p99Ms: pct("99"), errors };
}

function toMs(v: number, unit: string): number {
  return unit === "us" ? v / 1000 : unit === "ms" ? v : unit === "s" ? v * 1000 : v * 60_000;
}

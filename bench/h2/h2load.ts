// One load run of the HTTP/2 bench: nghttp2's h2load (Debian nghttp2-client), bounded in time (-D), over h2c by
// prior knowledge or, with `h1`, over HTTP/1.1, so that every row of the section, the HTTP/1.1 reference
// included, is loaded by the same client. Latency percentiles come from its per-request log file (h2load prints
// only min/max/mean/sd).

import { readFileSync, rmSync } from "node:fs";
import { start } from "../e2e/proc.js";
import { median } from "../stats.js";

export interface H2LoadSpec {
  url: string;
  /** Client connections, and concurrent streams per connection (1 for HTTP/1.1). */
  clients: number;
  streams: number;
  h1: boolean;
  seconds: number;
  headers: Readonly<Record<string, string>>;
  /** Where h2load writes one line per request (start µs, status, response time µs). */
  logFile: string;
}

export interface H2LoadResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests that did not end with a 2xx, failed, errored or timed out. */
  errors: number;
}

export async function runH2Load(spec: H2LoadSpec, cpus: string | null): Promise<H2LoadResult> {
  const args = [`-c${spec.clients}`, `-m${spec.streams}`, `-D${spec.seconds}`, "--log-file", spec.logFile];
  if (spec.h1) args.push("--h1");
  for (const [k, v] of Object.entries(spec.headers)) args.push("-H", `${k}: ${v}`);
  rmSync(spec.logFile, { force: true });
  const p = start("h2load", "h2load", [...args, spec.url], cpus);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => p.child.kill("SIGKILL"), (spec.seconds + 20) * 1000);
    p.child.once("exit", () => { clearTimeout(timer); resolve(); });
  });
  const r = parseH2Load(p.output());
  const times = responseTimesMs(spec.logFile);
  rmSync(spec.logFile, { force: true });
  return { ...r, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99) };
}

/** Reads h2load's summary: "finished in Xs, Y req/s", the requests line and the status codes line. */
export function parseH2Load(out: string): { requests: number; rps: number; errors: number } {
  const fin = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!fin || !req || !codes) throw new Error(`h2load output not understood: ${out.slice(-600)}`);
  // Not done − 2xx: with -D the two lines count slightly different windows.
  const errors = Number(codes[2]) + Number(codes[3]) + Number(codes[4]) + Number(req[4]) + Number(req[5]) + Number(req[6]);
  return { requests: Number(req[2]), rps: Number(fin[1]), errors };
}

/** Response times of the requests that got a status, in ms. */
function responseTimesMs(file: string): number[] {
  const out: number[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const f = line.split("\t");
    if (f.length === 3 && f[1] !== "0") out.push(Number(f[2]) / 1000);
  }
  return out;
}

function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  if (q === 0.5) return median(xs);
  const s = xs.sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

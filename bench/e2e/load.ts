// The load when wrk is not installed: `connections` keep-alive connections (one undici Pool), each running
// one request at a time in a closed loop, for `durationMs` or `maxRequests`, whichever comes first. Runs in a
// process of its own so that its CPU is not the orchestrator's; prints one JSON line (a LoadResult).
//
// node dist/bench/e2e/load.js '{"url":"http://127.0.0.1:8080/","connections":64,"durationMs":5000,...}'

import { Pool } from "undici";

export interface LoadSpec {
  url: string;
  connections: number;
  durationMs: number;
  headers: Record<string, string>;
  /** Hard bound on the number of requests, whatever the duration. */
  maxRequests: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

async function main(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, { connections: spec.connections, pipelining: 1, keepAliveTimeout: 300_000 });
  // Latencies in µs; bounded by maxRequests.
  const latencies = new Float64Array(Math.min(spec.maxRequests, 4_000_000));
  let n = 0;
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + spec.durationMs;
  const loop = async (): Promise<void> => {
    while (performance.now() < end && n < latencies.length) {
      const s = performance.now();
      try {
        const r = await pool.request({ path: url.pathname, method: "GET", headers: spec.headers });
        await r.body.dump();
        if (r.statusCode >= 400) errors++;
      } catch {
        errors++;
      }
      if (n < latencies.length) latencies[n++] = (performance.now() - s) * 1000;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, loop));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  const sorted = latencies.subarray(0, n).sort();
  const q = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.floor(p * n))]! / 1000);
  return { requests: n, errors, seconds, p50Ms: q(0.5), p99Ms: q(0.99) };
}

if (process.argv[2] !== undefined) {
  main(JSON.parse(process.argv[2]) as LoadSpec).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

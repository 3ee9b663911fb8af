// Small statistics for benchmarks: medians of rounds, because this 2-core machine is shared and noisy.

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** ns per call of `fn`, timed over `iterations` calls. */
export function timeNs(fn: () => void, iterations: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - t0) / iterations;
}

/** Prints rows as an aligned text table. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const line = (r: readonly (string | number)[]) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join("  ");
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return "-";
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(2);
}

/** The median of `f` over the samples where it is a finite number; NaN when it is for none. */
export function medianOf<S>(xs: readonly S[], f: (s: S) => number | null): number {
  const v = xs.map(f).filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? median(v) : NaN;
}

/** What every load row measures, in the columns LOAD_COLUMNS name. */
export interface LoadSample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number | null;
}

export const LOAD_COLUMNS: readonly string[] = ["req/s", "p50 ms", "p99 ms", "p99/p50", "CPU µs/req"];

/** A row's medians over its rounds, in LOAD_COLUMNS's order. */
export function loadCells(xs: readonly LoadSample[]): number[] {
  return [medianOf(xs, (q) => q.rps), medianOf(xs, (q) => q.p50Ms), medianOf(xs, (q) => q.p99Ms), medianOf(xs, (q) => q.p99Ms / q.p50Ms), medianOf(xs, (q) => q.cpuUsPerRequest)];
}

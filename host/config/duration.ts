// MOSN durations are Go time.Duration strings ("10s", "500ms", "1m30s", "1.5h") or bare numbers. A bare
// number is read as milliseconds: MOSN's JSON unmarshals a number as nanoseconds, which no one means in a
// hand-written config, and docs/config.md says so.

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Milliseconds, or a message saying what was expected. */
export function parseDurationMs(value: unknown): number | string {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) return `expected a non-negative duration, got ${value}`;
    return value;
  }
  if (typeof value !== "string") return `expected a duration such as "10s", "500ms" or a number of milliseconds, got ${describe(value)}`;
  const text = value.trim();
  if (text === "0") return 0;
  if (text === "") return `expected a duration such as "10s" or "500ms", got ""`;
  let total = 0;
  PART.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (m === null) return `expected a duration such as "10s", "500ms" or "1m30s", got ${JSON.stringify(value)}`;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART.lastIndex;
  }
  return Math.round(total * 1000) / 1000;
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  return `${typeof value} ${String(value)}`;
}

// cluster.circuit_breakers → CircuitBreakerSettings (host/proxy/circuit-breaker.ts). MOSN writes a list of
// thresholds (`"circuit_breakers": [{"max_connections": 100, …}]`, its CircuitBreakers JSON), Envoy an object
// (`{"thresholds": [{"priority": "DEFAULT", …}]}`); both are read. Switchyard has one priority: the DEFAULT
// entry (or the one without priority) is used, a HIGH one is a warning. A field not given takes Envoy's
// default, as MOSN does for a zero.

import type { CircuitBreakerSettings, RetryBudget } from "../proxy/circuit-breaker.js";
import { FIELDS, numberRule } from "./fields.js";
import { indexPath, keyPath, type Json, type Reader } from "./reader.js";
import { DEFAULTS } from "./types.js";

// Number bounds from the schema (host/config/fields.ts).
const BUDGET_PERCENT = numberRule("retryBudget", "budget_percent");
const MIN_RETRY_CONCURRENCY = numberRule("retryBudget", "min_retry_concurrency");
const LIMITS = {
  max_connections: numberRule("thresholds", "max_connections"),
  max_pending_requests: numberRule("thresholds", "max_pending_requests"),
  max_requests: numberRule("thresholds", "max_requests"),
  max_retries: numberRule("thresholds", "max_retries"),
};


function readBudget(r: Reader, value: unknown, path: string): RetryBudget | undefined {
  const o = r.object(value, path, FIELDS.retryBudget);
  if (o === undefined) return undefined;
  // Envoy's budget_percent is a Percent message ({"value": 20.0}); a bare number is read too.
  let raw = o["budget_percent"];
  let at = keyPath(path, "budget_percent");
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    r.object(raw, at, FIELDS.percent);
    raw = (raw as Json)["value"];
    at = keyPath(at, "value");
  }
  const budgetPercent = raw === undefined ? DEFAULTS.retryBudgetPercent : r.numberValue(raw, at, BUDGET_PERCENT);
  const minRetryConcurrency = r.number(o, "min_retry_concurrency", path, MIN_RETRY_CONCURRENCY) ?? DEFAULTS.retryBudgetMinConcurrency;
  return budgetPercent === undefined ? undefined : Object.freeze({ budgetPercent, minRetryConcurrency });
}

function readThresholds(r: Reader, o: Json, path: string): CircuitBreakerSettings {
  const limit = (key: keyof typeof LIMITS, fallback: number) => r.number(o, key, path, LIMITS[key]) ?? fallback;
  const maxConnections = limit("max_connections", DEFAULTS.breakerMaxConnections);
  const maxPendingRequests = limit("max_pending_requests", DEFAULTS.breakerMaxPendingRequests);
  const maxRequests = limit("max_requests", DEFAULTS.breakerMaxRequests);
  const maxRetries = limit("max_retries", DEFAULTS.breakerMaxRetries);
  const retryBudget = o["retry_budget"] === undefined ? null : readBudget(r, o["retry_budget"], keyPath(path, "retry_budget")) ?? null;
  return Object.freeze({ maxConnections, maxPendingRequests, maxRequests, maxRetries, retryBudget });
}

export function readCircuitBreakers(r: Reader, value: unknown, path: string): CircuitBreakerSettings | null {
  let list: unknown[] | undefined;
  let listPath = path;
  if (Array.isArray(value)) list = value;
  else {
    const o = r.object(value, path, FIELDS.circuitBreakers);
    if (o === undefined) return null;
    list = r.array(o, "thresholds", path) ?? [];
    listPath = keyPath(path, "thresholds");
  }
  let chosen: CircuitBreakerSettings | null = null;
  let chosenAt = -1;
  list.forEach((entry, i) => {
    const where = indexPath(listPath, i);
    const t = r.object(entry, where, FIELDS.thresholds);
    if (t === undefined) return;
    const priority = r.string(t, "priority", where, false) ?? "DEFAULT";
    if (priority.toUpperCase() === "HIGH") return r.warn(keyPath(where, "priority"), "HIGH-priority thresholds are ignored: Switchyard routes every request at one priority (DEFAULT)");
    if (priority.toUpperCase() !== "DEFAULT") return void r.error(keyPath(where, "priority"), `expected "DEFAULT" or "HIGH", got ${JSON.stringify(priority)}`);
    if (chosenAt >= 0) return void r.error(where, `a second DEFAULT thresholds entry (the first is ${indexPath(listPath, chosenAt)})`);
    chosen = readThresholds(r, t, where);
    chosenAt = i;
  });
  return chosen;
}

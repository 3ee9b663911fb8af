// cluster.health_check (MOSN's HealthCheckConfig: protocol, timeout, interval, interval_jitter,
// healthy_threshold, unhealthy_threshold, service_name, check_config.http_check_config {path, port,
// timeout}) → HealthCheckSettings (host/cluster/health-check.ts). As in MOSN, protocol "Http1" checks over
// HTTP and no protocol checks by TCP connect; expected_statuses is Switchyard's (MOSN passes only a 200).

import type { HealthCheckSettings } from "../cluster/health-check.js";
import { FIELDS, numberRule } from "./fields.js";
import { keyPath, type Reader } from "./reader.js";
import { DEFAULTS } from "./types.js";

// Number bounds from the schema (host/config/fields.ts).
const HEALTHY_THRESHOLD = numberRule("healthCheck", "healthy_threshold");
const UNHEALTHY_THRESHOLD = numberRule("healthCheck", "unhealthy_threshold");
const CHECK_PORT = numberRule("httpCheckConfig", "port");
const EXPECTED_STATUS = numberRule("httpCheckConfig", "expected_statuses");

const MAX_MS = 86_400_000;
const HTTP_PROTOCOLS = new Set(["http1", "http"]);
const PATH = /^\/[\x21-\x7e]*$/;

function readMs(r: Reader, obj: Record<string, unknown>, key: string, path: string, min: number): number | undefined {
  const ms = r.duration(obj, key, path);
  if (ms === undefined) return undefined;
  if (ms < min || ms > MAX_MS) return r.error(keyPath(path, key), `expected a duration from ${min} ms to 24h, got ${ms} ms`);
  return Math.round(ms);
}

export function readHealthCheck(r: Reader, value: unknown, path: string): HealthCheckSettings | null {
  const o = r.object(value, path, FIELDS.healthCheck);
  if (o === undefined) return null;
  const protocol = r.string(o, "protocol", path, false);
  let kind: HealthCheckSettings["kind"] = "tcp";
  if (protocol !== undefined) {
    const p = protocol.toLowerCase();
    if (HTTP_PROTOCOLS.has(p)) kind = "http";
    else if (p !== "tcp") r.error(keyPath(path, "protocol"), `expected "Http1" (an HTTP GET) or "TCP" (a connect; also what no protocol means), got ${JSON.stringify(protocol)}`);
  }
  const timeoutMs = readMs(r, o, "timeout", path, 1) ?? DEFAULTS.healthCheckTimeoutMs;
  const intervalMs = readMs(r, o, "interval", path, 1) ?? DEFAULTS.healthCheckIntervalMs;
  const intervalJitterMs = readMs(r, o, "interval_jitter", path, 0) ?? 0;
  const healthyThreshold = r.number(o, "healthy_threshold", path, HEALTHY_THRESHOLD) ?? DEFAULTS.healthCheckHealthyThreshold;
  const unhealthyThreshold = r.number(o, "unhealthy_threshold", path, UNHEALTHY_THRESHOLD) ?? DEFAULTS.healthCheckUnhealthyThreshold;
  const serviceName = r.string(o, "service_name", path, false) ?? null;

  let http: HealthCheckSettings["http"] = null;
  let httpTimeoutMs: number | undefined;
  const ccPath = keyPath(path, "check_config");
  const cc = o["check_config"] === undefined ? undefined : r.object(o["check_config"], ccPath, FIELDS.checkConfig);
  const hcPath = keyPath(ccPath, "http_check_config");
  const hc = cc?.["http_check_config"] === undefined ? undefined : r.object(cc["http_check_config"], hcPath, FIELDS.httpCheckConfig);
  if (hc !== undefined && kind !== "http") {
    r.error(hcPath, `needs "protocol": "Http1" on ${path} (without it the check is a TCP connect, as in MOSN)`);
  }
  if (kind === "http") {
    const p = r.string(hc ?? {}, "path", hcPath, false) ?? "/";
    if (!PATH.test(p)) r.error(keyPath(hcPath, "path"), `expected a path starting with "/" without spaces or control characters, got ${JSON.stringify(p)}`);
    const port = hc === undefined ? undefined : r.number(hc, "port", hcPath, CHECK_PORT);
    httpTimeoutMs = hc === undefined ? undefined : readMs(r, hc, "timeout", hcPath, 1);
    const expectedStatuses: number[] = [];
    const list = hc === undefined ? undefined : r.array(hc, "expected_statuses", hcPath);
    if (list !== undefined && list.length === 0) r.error(keyPath(hcPath, "expected_statuses"), "expected at least one status");
    (list ?? [200]).forEach((v, i) => {
      const s = r.numberValue(v, `${keyPath(hcPath, "expected_statuses")}[${i}]`, EXPECTED_STATUS);
      if (s !== undefined) expectedStatuses.push(s);
    });
    http = Object.freeze({ path: p, port: port ?? null, expectedStatuses: Object.freeze(expectedStatuses) });
  }
  return Object.freeze({ kind, timeoutMs: httpTimeoutMs ?? timeoutMs, intervalMs, intervalJitterMs, healthyThreshold, unhealthyThreshold, serviceName, http });
}

// `switchyard push <name> <file|-> [--admin URL] [--token T] [--if-match V]`: sends a plugin config to the
// admin API. The token comes from --token or SWITCHYARD_ADMIN_TOKEN. Exit 0 accepted, 1 refused, 2 usage.
// With --source etcd://… it writes the config to etcd for every host of the fleet (host/fleet/push-source.ts);
// --if-match is then the key's etcd mod revision, and --wait waits for every live host's status.

import { readFile } from "node:fs/promises";
import { request } from "undici";
import { parseArgs, str, UsageError, type ParsedArgs } from "./args.js";
import { adminErrorText } from "./error-line.js";
import { pushToSource } from "../fleet/push-source.js";

export async function readSource(source: string): Promise<string> {
  if (source !== "-") return readFile(source, "utf8");
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The etcd write of `push --source` and `hosts --source`: --if-match, --wait and --timeout as both take them. */
export function writeToSource(p: ParsedArgs, source: string, kind: "plugin" | "cluster", name: string, body: string): Promise<number> {
  const im = str(p, "if-match");
  if (im !== undefined && !/^\d{1,15}$/.test(im)) throw new UsageError(`--if-match: expected an etcd mod revision (0: the key must not exist), got ${JSON.stringify(im)}`);
  const t = str(p, "timeout") ?? "30";
  if (!/^[1-9]\d{0,4}$/.test(t)) throw new UsageError(`--timeout: expected whole seconds, got ${JSON.stringify(t)}`);
  return pushToSource(
    { source, kind, name, body, ...(im !== undefined ? { ifMatch: Number(im) } : {}), wait: p.options.has("wait"), timeoutMs: Number(t) * 1000 },
    (line) => process.stdout.write(line + "\n"),
  );
}

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ["admin", "token", "if-match", "source", "timeout"], flags: ["wait"] });
  const [name, source] = p.positional;
  if (name === undefined || source === undefined) throw new UsageError("usage: switchyard push <plugin-name> <file|-> [--admin URL] [--token T] [--if-match V] | --source etcd://… [--if-match REV] [--wait] [--timeout S]");
  const etcd = str(p, "source");
  if (etcd !== undefined) {
    if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(name)) throw new UsageError(`push: ${JSON.stringify(name)} is not a plugin name`);
    return writeToSource(p, etcd, "plugin", name, await readSource(source));
  }
  const admin = str(p, "admin") ?? process.env.SWITCHYARD_ADMIN_URL ?? "http://127.0.0.1:9901";
  const token = str(p, "token") ?? process.env.SWITCHYARD_ADMIN_TOKEN;
  const body = await readSource(source);
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const ifMatch = str(p, "if-match");
  if (ifMatch !== undefined) headers["if-match"] = ifMatch;
  const res = await request(new URL(`/plugins/${encodeURIComponent(name)}/config`, admin), { method: "PUT", headers, body });
  const text = await res.body.text();
  if (res.statusCode === 200) {
    const r = JSON.parse(text) as { configVersion: number; appliedWorkers: number };
    process.stdout.write(`accepted: ${name} is at config version ${r.configVersion} (${r.appliedWorkers} worker(s))\n`);
    return 0;
  }
  process.stderr.write(`refused (HTTP ${res.statusCode}): ${adminErrorText(text).trim()}\n`);
  return 1;
}

// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per source file, top N,
// so that the costs of a proxy under load can be named without opening DevTools.
//
// node dist/bench/e2e/cpu-profile.js <file.cpuprofile> [top=25] [skip seconds=0]
// (skip: leave out the first seconds, the start-up's module loading and plugin compilation)

import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

export function summarize(profile: Profile, top: number, skipSeconds = 0): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < skipSeconds * 1e6) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const group = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const where = shortUrl(f.url);
    const key = `${f.functionName || "(anonymous)"}  ${where}${f.url ? `:${f.lineNumber + 1}` : ""}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    file.set(where, (file.get(where) ?? 0) + us);
    const g = groupOf(f.url, f.functionName);
    group.set(g, (group.get(g) ?? 0) + us);
  }
  const list = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  return [`total sampled: ${(total / 1e6).toFixed(2)} s`, "", "self time by group:", ...list(group), "", "self time by function:", ...list(fn), "", "self time by file:", ...list(file)].join("\n");
}

function groupOf(url: string, name: string): string {
  if (url === "") return name === "(idle)" ? "idle" : name.startsWith("(") ? `V8 ${name}` : "native bindings (socket writes, buffers)";
  if (url.startsWith("wasm://")) return "wasm (plugins, and undici's llhttp parser)";
  if (url.includes("/dist/host/")) return `host: ${url.slice(url.indexOf("/dist/host/") + 11).split("/")[0]}`;
  if (url.includes("/node_modules/")) return url.slice(url.indexOf("/node_modules/") + 14).split("/").slice(0, url.includes("/node_modules/@") ? 2 : 1).join("/");
  if (url.startsWith("node:")) return "node core (http, net, streams)";
  return url;
}

function shortUrl(url: string): string {
  if (url === "") return "(native/V8)";
  const i = url.indexOf("/node_modules/");
  if (i >= 0) return url.slice(i + 1);
  const d = url.indexOf("/dist/");
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, "");
}

if (process.argv[2] !== undefined) {
  const p = JSON.parse(readFileSync(process.argv[2], "utf8")) as Profile;
  console.log(summarize(p, Number(process.argv[3] ?? 25), Number(process.argv[4] ?? 0)));
}

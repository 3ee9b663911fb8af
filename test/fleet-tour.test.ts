// docs/fleet.md's tour (```sh fleet-tour and its ```json file=… blocks): a real etcd (test/helpers/etcd.ts),
// two real `switchyard run --source` processes named as the doc names them, the doc's files written with this
// test's upstream addresses, and each documented command run through the CLI with this etcd's port: its output
// must be the documented lines (… standing for a revision), and the routing the doc promises must follow.

import { readFile, writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, stopFleet, type EtcdProcess } from "./helpers/etcd.js";
import { canaryVariant, cli, get, hostConfig, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";
import { REPO } from "./fixtures/bundles.js";

const DOC_SOURCE = "etcd://127.0.0.1:2379/tour";
const DOC_CANARY = "127.0.0.1:18081";
const DOC_STABLE = "127.0.0.1:18082";

let doc: string;
let root: string;
let etcd: EtcdProcess;
let ups: Upstream[];
const hosts = new Map<string, HostProcess>();

/** The doc's addresses and source as this test's. */
const real = (text: string) => text.replaceAll(DOC_SOURCE, etcd.url("/tour")).replaceAll(DOC_CANARY, ups[0]!.address).replaceAll(DOC_STABLE, ups[1]!.address);

beforeAll(async () => {
  doc = await readFile(join(REPO, "docs/fleet.md"), "utf8");
  root = await mkdtemp(join(tmpdir(), "switchyard-fleet-tour-"));
  etcd = await startEtcd(join(root, "etcd"));
  ups = [await startUpstream("canary0"), await startUpstream("stable0")];
  for (const id of ["edge-1", "edge-2"]) {
    await canaryVariant(join(root, id, "plugins", "header-canary"), { version: "1.0.0", tagValue: "canary" });
    const cfg = hostConfig({
      hosts: [{ address: ups[0]!.address, tags: { version: "canary" } }, { address: ups[1]!.address, tags: { version: "stable" } }],
      pluginsDir: join(root, id, "plugins"),
      stateDir: join(root, id, "state"),
    });
    await writeFile(join(root, `${id}.json`), JSON.stringify(cfg));
    hosts.set(id, await spawnHost({ configFile: join(root, `${id}.json`), args: ["--source", etcd.url("/tour"), "--host-id", id] }));
  }
}, 120_000);

afterAll(() => stopFleet(hosts.values(), etcd, ups, root));

async function upstreamOn(id: string, headers: Record<string, string>): Promise<string> {
  const r = await get(`${hosts.get(id)!.listenerUrl}/`, headers);
  return r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : String(r.status);
}

/** `$ command` lines and, after each, the output lines it must print. */
function steps(block: string): { command: string; expected: string[] }[] {
  const out: { command: string; expected: string[] }[] = [];
  for (const line of block.trim().split("\n")) {
    if (line.startsWith("$ ")) out.push({ command: line.slice(2), expected: [] });
    else out.at(-1)!.expected.push(line);
  }
  return out;
}

/** A documented output line as a pattern: "…" stands for one word (a revision). */
const pattern = (line: string) => new RegExp(`^${line.split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\S+")}$`);

describe("docs/fleet.md: the tour", () => {
  it("one push and one host list reach both hosts, with the documented output, and route as the doc says", async () => {
    for (const m of doc.matchAll(/```json file=(\S+)\n([\s\S]*?)```/g)) await writeFile(join(root, m[1]!), real(m[2]!));
    const block = /```sh fleet-tour\n([\s\S]*?)```/.exec(doc);
    expect(block).not.toBeNull();
    const [push, hostList] = steps(block![1]!);
    expect([push?.command.split(" ")[1], hostList?.command.split(" ")[1]]).toEqual(["push", "hosts"]);
    expect(await upstreamOn("edge-1", { "x-canary": "1" })).toBe("canary0");

    const run = async (command: string) => {
      const argv = real(command).split(" ").slice(1).map((a) => (a.endsWith(".json") ? join(root, a) : a));
      return cli(argv);
    };
    const pushed = await run(push!.command);
    expect([pushed.code, pushed.stderr]).toEqual([0, ""]);
    const lines = pushed.stdout.trimEnd().split("\n").map((l) => l.replaceAll(root, "").replace(etcd.url("/tour"), DOC_SOURCE));
    expect(lines).toHaveLength(push!.expected.length);
    push!.expected.forEach((e, i) => expect(lines[i]).toMatch(pattern(e)));
    for (const id of hosts.keys()) {
      expect(await upstreamOn(id, { "x-canary": "yes" })).toBe("canary0");
      expect(await upstreamOn(id, { "x-canary": "1" })).toBe("stable0");
    }

    const listed = await run(hostList!.command);
    expect([listed.code, listed.stderr]).toEqual([0, ""]);
    const lines2 = listed.stdout.trimEnd().split("\n");
    expect(lines2).toHaveLength(hostList!.expected.length);
    hostList!.expected.forEach((e, i) => expect(lines2[i]).toMatch(pattern(e)));
    for (const id of hosts.keys()) {
      expect(await upstreamOn(id, { "x-canary": "yes" })).toBe("503");
      expect(await upstreamOn(id, {})).toBe("stable0");
    }
  }, 120_000);
});

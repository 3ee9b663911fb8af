// ABI limits at the edge (sdk/ABI.md §8): a request with more headers than a plugin may be given is refused
// with 431 before any plugin runs, so that a client can never make a plugin fail (and a fail-closed plugin
// answer 503) by sending many headers. One at the limit passes through the chain.
import { afterEach, describe, expect, it } from "vitest";
import { MAX_HEADERS } from "../host/abi/limits.js";
import { send } from "./helpers/front.js";
import { anyHost, mosnConfig, type RunningSwitchyard, startSwitchyard } from "./helpers/switchyard.js";
import { startUpstreams, type Upstreams } from "./helpers/upstreams.js";

let sy: RunningSwitchyard | undefined;
let ups: Upstreams | undefined;
afterEach(async () => {
  await sy?.close();
  await ups?.close();
  sy = undefined;
  ups = undefined;
});

/** n headers of our own; node's client adds Host and Connection to them. */
function headers(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h-${i}`, "v"]));
}

describe("request header count", () => {
  it("refuses more than MAX_HEADERS headers with 431 before the chain, and passes MAX_HEADERS", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({
      config: mosnConfig({
        clusters: [{ name: "c", hosts: ups.addresses }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }])],
      }),
      plugins: ["header-canary"],
    });
    const over = await send(sy.url, { path: "/", headers: headers(MAX_HEADERS) });
    expect(over.status).toBe(431);
    const plugin = sy.host.registry.get("header-canary")!;
    expect(plugin.stats.calls).toBe(0);
    expect(sy.accessLog().at(-1)).toMatchObject({ status: 431, reason: "E_TOO_MANY_HEADERS" });

    const at = await send(sy.url, { path: "/", headers: headers(MAX_HEADERS - 2) });
    expect(at.status).toBe(200);
    expect(plugin.stats).toMatchObject({ calls: 1, failures: 0 });
  });
});

describe("a route naming a plugin that is not loaded", () => {
  it("skips it, says so once in the log, and routes with the plugins that are loaded", async () => {
    ups = await startUpstreams(1);
    sy = await startSwitchyard({
      config: mosnConfig({
        clusters: [{ name: "c", hosts: ups.addresses }],
        virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s", switchyard: { plugins: ["no-such-plugin", "deny"] } } }])],
      }),
      plugins: ["deny"],
    });
    expect((await send(sy.url, { path: "/" })).status).toBe(200);
    expect((await send(sy.url, { path: "/", headers: { "x-client": "bad-bot" } })).status).toBe(403);
    const told = sy.logs.filter((l) => l.event === "missing");
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ plugin: "no-such-plugin", level: 40 });
  });
});

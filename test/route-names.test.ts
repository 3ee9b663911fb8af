// Stable route names (issue 16): a router entry's `name` is what metrics, the access log, readiness and explain
// call the route, so that reordering routes does not move their series; without one, its JSON path. Two routes
// of one router config may not share a name. A real host, real upstream, the host's own metrics registry.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { parseConfig } from "../host/config/index.js";
import { explain } from "../host/explain/explain.js";
import { ClusterManager } from "../host/cluster/cluster-manager.js";
import { PluginRegistry } from "../host/plugin/registry.js";
import { toClusterInput } from "../host/server/host.js";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream("u");
});
afterAll(async () => up.close());

/** Routes /api (named "api" unless `name` is null) and /other (unnamed), in this order or reversed. */
function config(reversed: boolean, name: string | null = "api"): object {
  const api = { ...(name === null ? {} : { name }), match: { prefix: "/api" }, route: { cluster_name: "c" } };
  const other = { match: { prefix: "/other" }, route: { cluster_name: "c" } };
  return mosnConfig({ clusters: [{ name: "c", hosts: [up.address] }], virtualHosts: [{ ...(anyHost(reversed ? [other, api] : [api, other]) as object), name: "edge" }] });
}

async function seriesAfterOneRequest(cfg: object): Promise<{ requests: string[]; log: Record<string, unknown> }> {
  const s: RunningSwitchyard = await startSwitchyard({ config: cfg });
  try {
    const res = await request(`${s.url}/api/x`);
    await res.body.text();
    const text = (await s.host.metrics.scrape()).body;
    return { requests: text.split("\n").filter((l) => l.startsWith("switchyard_requests_total{")), log: s.accessLog().at(-1)! };
  } finally {
    await s.close();
  }
}

describe("route names", () => {
  it("label the route in metrics and the access log, and stay when routes are reordered", async () => {
    const first = await seriesAfterOneRequest(config(false));
    const second = await seriesAfterOneRequest(config(true));
    expect(first.requests).toEqual(['switchyard_requests_total{listener="main",route="api",cluster="c",status_class="2xx"} 1']);
    expect(second.requests).toEqual(first.requests);
    expect(first.log).toMatchObject({ route: "api", status: 200 });
    expect(second.log).toMatchObject({ route: "api", status: 200 });
  });

  it("fall back to the JSON path, which moves with the order", async () => {
    const first = await seriesAfterOneRequest(config(false, null));
    const second = await seriesAfterOneRequest(config(true, null));
    expect(first.requests[0]).toContain('route="servers[0].routers[0].virtual_hosts[0].routers[0]"');
    expect(second.requests[0]).toContain('route="servers[0].routers[0].virtual_hosts[0].routers[1]"');
  });

  it("are shown by explain, with the virtual host's name", () => {
    const { config: c } = parseConfig(JSON.stringify(config(true)), "names.json");
    const clusters = new ClusterManager();
    clusters.replaceAll(c.clusters.map((x) => toClusterInput(x)));
    const e = explain({ config: c, clusters, registry: new PluginRegistry() }, { path: "/api/1" });
    expect(e).toMatchObject({ route: "api", virtualHost: "edge" });
  });

  it("must be unique in a router config, and not empty", () => {
    const dup = config(false) as { servers: [{ routers: [{ virtual_hosts: [{ routers: Record<string, unknown>[] }] }] }] };
    dup.servers[0].routers[0].virtual_hosts[0].routers[1]!.name = "api";
    expect(() => parseConfig(JSON.stringify(dup), "dup.json")).toThrow(/servers\[0\]\.routers\[0\]\.virtual_hosts\[0\]\.routers\[1\]\.name: duplicate route name "api" \(also servers\[0\]\.routers\[0\]\.virtual_hosts\[0\]\.routers\[0\]\)/);
    expect(() => parseConfig(JSON.stringify(config(false, "")), "empty.json")).toThrow(/routers\[0\]\.name/);
  });
});

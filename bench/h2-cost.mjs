// Bounded: per protocol path, 300 warm-up + 3000 sequential requests on one connection through a Switchyard host
// (no plugins) to a local upstream; prints mean µs per request. Usage: make build, then node bench/h2-cost.mjs. A report, not a judged benchmark (make bench has no h2 rows yet).
import http from "node:http";
import http2 from "node:http2";
import pino from "pino";
import { parseConfig } from "../dist/host/config/index.js";
import { SwitchyardHost } from "../dist/host/server/host.js";

const h1up = http.createServer((req, res) => { req.resume(); req.on("end", () => res.end("ok")); });
await new Promise((r) => h1up.listen(0, "127.0.0.1", r));
const h2up = http2.createServer((req, res) => { req.resume(); req.on("end", () => res.end("ok")); });
await new Promise((r) => h2up.listen(0, "127.0.0.1", r));
const a1 = `127.0.0.1:${h1up.address().port}`, a2 = `127.0.0.1:${h2up.address().port}`;
const listener = (name, down, rc) => ({ name, address: "127.0.0.1:0", filter_chains: [{ filters: [{ type: "proxy", config: { downstream_protocol: down, router_config_name: rc } }] }] });
const vh = (c) => [{ name: "v", domains: ["*"], routers: [{ match: { prefix: "/" }, route: { cluster_name: c, timeout: "5s" } }] }];
const cfg = { servers: [{ routers: [{ router_config_name: "r1", virtual_hosts: vh("c1") }, { router_config_name: "r2", virtual_hosts: vh("c2") }],
  listeners: [listener("h1", "Http1", "r1"), listener("h2-h1", "Http2", "r1"), listener("h2-h2", "Http2", "r2")] }],
  cluster_manager: { clusters: [{ name: "c1", hosts: [{ address: a1 }] }, { name: "c2", hosts: [{ address: a2 }], http2_protocol_options: {} }] } };
const host = new SwitchyardHost({ config: parseConfig(JSON.stringify(cfg), "bench.json").config, admin: false, watch: false, logger: pino({ level: "silent" }) });
await host.start();
const port = (n) => host.servers.find((s) => s.name === n).address.port;
const N = 3000, WARM = 300;
async function h1(p) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const one = () => new Promise((res, rej) => http.get({ port: p, host: "127.0.0.1", agent }, (r) => { r.resume(); r.on("end", res); }).on("error", rej));
  for (let i = 0; i < WARM; i++) await one();
  const t = performance.now(); for (let i = 0; i < N; i++) await one(); const us = (performance.now() - t) * 1000 / N;
  agent.destroy(); return us;
}
async function h2(p) {
  const s = http2.connect(`http://127.0.0.1:${p}`);
  const one = () => new Promise((res, rej) => { const st = s.request({ ":path": "/" }); st.resume(); st.on("end", res); st.on("error", rej); });
  for (let i = 0; i < WARM; i++) await one();
  const t = performance.now(); for (let i = 0; i < N; i++) await one(); const us = (performance.now() - t) * 1000 / N;
  s.destroy(); return us;
}
const rows = [];
for (let round = 0; round < 3; round++) {
  rows.push({ round, "h1→h1 µs": +(await h1(port("h1"))).toFixed(0), "h2c→h1 µs": +(await h2(port("h2-h1"))).toFixed(0), "h2c→h2c µs": +(await h2(port("h2-h2"))).toFixed(0) });
}
console.table(rows);
for (const s of host.servers) s.server.closeAllConnections();
await host.stop(); h1up.close(); h2up.close();

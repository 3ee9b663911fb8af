// node `http-proxy` as a peer: one proxy server, round robin over the upstreams, one keep-alive http.Agent
// per upstream (without it http-proxy opens a connection per request, which is not what anyone deploys).
//
// node dist/bench/e2e/peers/http-proxy.js <listen port> <upstream port>...

import { Agent, createServer } from "node:http";
import httpProxy from "http-proxy";
import { parseFloorArgs } from "../../floor/common.js";

const { port, upstreams } = parseFloorArgs(process.argv.slice(2));
const targets = upstreams.map((target) => ({ target, agent: new Agent({ keepAlive: true, maxSockets: 128, keepAliveMsecs: 300_000 }) }));
const proxy = httpProxy.createProxyServer({ xfwd: false });
proxy.on("error", (_err, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502, { "content-length": 0 });
  res.end();
});
let next = 0;

const server = createServer((req, res) => {
  const t = targets[next]!;
  next = (next + 1) % targets.length;
  proxy.web(req, res, t);
});
server.keepAliveTimeout = 300_000;
server.listen(port, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));

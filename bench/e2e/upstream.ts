// The fallback upstreams when nginx is not installed: three node:http servers in one process answering
// 200 "uN\n" (N = 1..3, so that the balance check can tell them apart) and a status server answering
// {"accepted": <connections accepted by the three>} for the "new upstream connections" count.
//
// node dist/bench/e2e/upstream.js <status port> <port 1> <port 2> <port 3>

import { createServer } from "node:http";

const [statusPort, ...ports] = process.argv.slice(2).map(Number);
let accepted = 0;

ports.forEach((port, i) => {
  const body = Buffer.from(`u${i + 1}\n`);
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
      res.end(body);
    });
  });
  // No idle or per-connection limits: a proxy's keep-alive connections must survive the whole run, so
  // that a reconnect seen in the count is the proxy's doing.
  server.keepAliveTimeout = 300_000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.on("connection", () => { accepted++; });
  server.listen(port, "127.0.0.1");
});

createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json", connection: "close" });
  res.end(JSON.stringify({ accepted }));
}).listen(statusPort, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));

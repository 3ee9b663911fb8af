// The demo upstreams of `make run`: small HTTP servers on loopback, each answering with a JSON body naming
// itself, its version and zone, so that a newcomer can watch a canary header move traffic.

import { createServer, type Server } from "node:http";

export interface DemoUpstream {
  readonly address: string;
  readonly version: string;
  readonly zone: string;
}

export async function startDemoUpstreams(list: readonly DemoUpstream[]): Promise<{ close(): Promise<void> }> {
  const servers: Server[] = [];
  for (const u of list) {
    const [host, port] = [u.address.slice(0, u.address.lastIndexOf(":")), Number(u.address.slice(u.address.lastIndexOf(":") + 1))];
    const server = createServer((req, res) => {
      req.resume();
      const body = JSON.stringify({ host: u.address, version: u.version, zone: u.zone, method: req.method, path: req.url }) + "\n";
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(new Error(`demo upstream ${u.address}: ${err.message}`)));
      server.listen(port, host, () => resolve());
    });
    servers.push(server);
  }
  return {
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); })));
    },
  };
}

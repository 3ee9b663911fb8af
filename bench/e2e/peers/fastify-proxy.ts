// fastify + @fastify/http-proxy as a peer: round robin over the upstreams through `replyOptions.getUpstream`
// (the plugin's documented way to choose an upstream per request); @fastify/reply-from then sends through
// its undici Agent, which keeps one keep-alive pool per origin. Logging off, as in the other rows.
//
// node dist/bench/e2e/peers/fastify-proxy.js <listen port> <upstream port>...

import fastifyHttpProxy from "@fastify/http-proxy";
import Fastify from "fastify";
import { parseFloorArgs } from "../../floor/common.js";

const { port, upstreams } = parseFloorArgs(process.argv.slice(2));
let next = 0;

const app = Fastify({ logger: false, keepAliveTimeout: 300_000 });
await app.register(fastifyHttpProxy, {
  upstream: "",
  undici: { connections: 128, pipelining: 1, keepAliveTimeout: 300_000, keepAliveMaxTimeout: 300_000 },
  replyOptions: {
    getUpstream: () => {
      const u = upstreams[next]!;
      next = (next + 1) % upstreams.length;
      return u;
    },
  },
});
await app.listen({ port, host: "127.0.0.1" });

process.on("SIGTERM", () => process.exit(0));

// Shared by the hand-written floors: the arguments, one undici Pool per upstream with the same limits as
// Switchyard's PoolRegistry (128 connections, no pipelining, long keep-alive), and the hop-by-hop headers
// a proxy must not forward.
//
// node dist/bench/floor/<floor>.js <listen port> <upstream port>...

import { Pool } from "undici";

export function parseFloorArgs(argv: readonly string[]): { port: number; upstreams: string[] } {
  const [port, ...ups] = argv.map(Number);
  if (!Number.isInteger(port) || ups.length === 0 || ups.some((p) => !Number.isInteger(p))) {
    throw new Error("usage: <listen port> <upstream port>...");
  }
  return { port: port!, upstreams: ups.map((p) => `http://127.0.0.1:${p}`) };
}

export function makePools(origins: readonly string[]): Pool[] {
  return origins.map((o) => new Pool(o, { connections: 128, pipelining: 1, keepAliveTimeout: 300_000, keepAliveMaxTimeout: 300_000 }));
}

export const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"]);

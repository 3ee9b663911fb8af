// gRPC retries on a gRPC status (route retry_policy retry_on_grpc_statuses, docs/config.md): a real
// @grpc/grpc-js client calls through the proxy to two real grpc-js servers, one that fails every call and one
// that answers. A Trailers-Only failure (no message sent) with a listed code is retried on the other host, the
// call's request messages replayed; a code not listed, a call that already sent a message, a body past the
// replay bound and a retry over the circuit breaker's max_retries are not.

import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { bindGrpc, Client, type EchoClient, SERVICE, unary } from "./helpers/grpc.js";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";

let servers: grpc.Server[] = [];
let sy: RunningSwitchyard | undefined;
let client: EchoClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await sy?.close();
  sy = undefined;
  for (const s of servers) s.forceShutdown();
  servers = [];
});

interface Served {
  readonly address: string;
  /** Calls it got, by method. */
  readonly calls: Record<string, number>;
  /** Called when a client-streaming call arrives. */
  onClientStream?: () => void;
}

/**
 * A server whose every call fails with `code` (Trailers-Only; a server stream sends one message first), or
 * answers when `code` is null. A client-streaming call fails after the whole request, or at once with `early`.
 */
async function server(code: grpc.status | null, early = false): Promise<Served> {
  const s = new grpc.Server();
  servers.push(s);
  const calls: Record<string, number> = { unary: 0, serverStream: 0, clientStream: 0 };
  const error = { code: code!, details: "failing on purpose" };
  const served: { address: string; calls: Record<string, number>; onClientStream?: () => void } = { address: "", calls };
  s.addService(SERVICE as unknown as grpc.ServiceDefinition, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      calls.unary!++;
      if (code === null) cb(null, Buffer.from(`ok:${call.request.toString()}`));
      else cb(error);
    },
    serverStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      calls.serverStream!++;
      call.write(Buffer.from("item 0"));
      if (code === null) call.end();
      else call.emit("error", error);
    },
    clientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      calls.clientStream!++;
      served.onClientStream?.();
      if (early && code !== null) return cb(error);
      let bytes = 0;
      call.on("data", (b: Buffer) => (bytes += b.length));
      // After the whole body: the proxy has read all of it by then.
      call.on("end", () => (code === null ? cb(null, Buffer.from(`got ${bytes} bytes`)) : cb(error)));
    },
    bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => call.end(),
  });
  served.address = await bindGrpc(s);
  return served;
}

async function proxy(hosts: string[], retryPolicy: object, cluster: object = {}): Promise<EchoClient> {
  sy = await startSwitchyard({
    config: mosnConfig({
      clusters: [{ name: "grpc", hosts, extra: { http2_protocol_options: {}, ...cluster } }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "grpc", timeout: "5s", retry_policy: retryPolicy } }])],
      proxy: { downstream_protocol: "Http2" },
    }),
  });
  client = new Client(sy.url.replace("http://", ""), grpc.credentials.createInsecure());
  return client;
}

/** The attempts of the access-log lines of calls to `path`, in order. */
function attempts(path: string): unknown[] {
  return sy!.accessLog().filter((l) => l["path"] === path).map((l) => l["attempts"]);
}

const RETRY = { retry_on: true, num_retries: 1, retry_on_grpc_statuses: ["unavailable", "resource-exhausted"] };
/** Calls per test: with two hosts in round robin, at least one of any two reaches the failing host first. */
const CALLS = 4;

describe("retry_on_grpc_statuses", () => {
  it("a Trailers-Only UNAVAILABLE is retried on the other host: the client gets its answer, two attempts logged", async () => {
    const down = await server(grpc.status.UNAVAILABLE);
    const up = await server(null);
    const c = await proxy([down.address, up.address], RETRY);
    for (let i = 0; i < CALLS; i++) expect(await unary(c, `m${i}`)).toMatchObject({ value: `ok:m${i}` });
    expect(down.calls.unary).toBeGreaterThan(0);
    expect(up.calls.unary).toBe(CALLS);
    const tried = attempts("/test.Echo/Unary");
    expect(tried.filter((a) => a === 2)).toHaveLength(down.calls.unary!);
    expect(tried.filter((a) => a === 1)).toHaveLength(CALLS - down.calls.unary!);
  });

  it("a client-streaming call's messages are replayed to the other host", async () => {
    const down = await server(grpc.status.RESOURCE_EXHAUSTED);
    const up = await server(null);
    const c = await proxy([down.address, up.address], RETRY);
    for (let i = 0; i < CALLS && down.calls.clientStream === 0; i++) {
      const answer = await new Promise<string>((resolve, reject) => {
        const call = c.clientStream((err: grpc.ServiceError | null, v?: Buffer) => (err ? reject(err) : resolve(v!.toString()))) as grpc.ClientWritableStream<Buffer>;
        for (const p of ["aaaa", "bbbb", "cccc"]) call.write(Buffer.from(p));
        call.end();
      });
      // Three messages of 4 bytes, each with gRPC's 5-byte frame header: all of them reached the host that answered.
      expect(answer).toBe("got 12 bytes");
    }
    expect(down.calls.clientStream).toBe(1);
    expect(attempts("/test.Echo/ClientStream").at(-1)).toBe(2);
  });

  it("a Trailers-Only failure while the client still streams: what it sent is replayed, the rest follows to the other host", async () => {
    const down = await server(grpc.status.UNAVAILABLE, true);
    const up = await server(null);
    const c = await proxy([down.address, up.address], RETRY);
    for (let i = 0; i < CALLS && down.calls.clientStream === 0; i++) {
      // The first message goes out; the rest only once a host has the call (and the failing one has failed it).
      const arrived = new Promise<void>((resolve) => (up.onClientStream = resolve));
      const answer = new Promise<string>((resolve, reject) => {
        const call = c.clientStream((err: grpc.ServiceError | null, v?: Buffer) => (err ? reject(err) : resolve(v!.toString()))) as grpc.ClientWritableStream<Buffer>;
        call.write(Buffer.from("aaaa"));
        void arrived.then(() => {
          call.write(Buffer.from("bbbb"));
          call.write(Buffer.from("cccc"));
          call.end();
        });
      });
      expect(await answer).toBe("got 12 bytes");
    }
    expect(down.calls.clientStream).toBe(1);
    expect(attempts("/test.Echo/ClientStream").at(-1)).toBe(2);
  });

  it("not retried: a code not listed, a call that already sent a message, a body past the replay bound", async () => {
    const down = await server(grpc.status.UNAVAILABLE);
    const internal = await server(grpc.status.INTERNAL);
    const up = await server(null);

    // INTERNAL is not listed: the client gets it, one attempt.
    let c = await proxy([internal.address, up.address], RETRY);
    let r: Awaited<ReturnType<typeof unary>> | undefined;
    for (let i = 0; i < CALLS && internal.calls.unary === 0; i++) r = await unary(c, "x");
    expect(r!.error).toMatchObject({ code: grpc.status.INTERNAL, details: "failing on purpose" });
    expect(attempts("/test.Echo/Unary").at(-1)).toBe(1);
    client!.close();
    await sy!.close();

    c = await proxy([down.address, up.address], RETRY);
    // A server stream that sent "item 0" before UNAVAILABLE: the message went to the client, so no retry.
    let got: { items: string[]; error?: grpc.ServiceError } | undefined;
    for (let i = 0; i < CALLS && down.calls.serverStream === 0; i++) {
      got = await new Promise((resolve) => {
        const items: string[] = [];
        const call = c.serverStream(Buffer.from("1")) as grpc.ClientReadableStream<Buffer>;
        call.on("data", (b: Buffer) => items.push(b.toString()));
        call.on("error", (error: grpc.ServiceError) => resolve({ items, error }));
        call.on("end", () => resolve({ items }));
      });
    }
    expect(got).toMatchObject({ items: ["item 0"], error: { code: grpc.status.UNAVAILABLE } });
    expect(attempts("/test.Echo/ServerStream").at(-1)).toBe(1);

    // 80 KiB of request messages, past the 64 KiB kept for a replay: the failure is the answer.
    let big: grpc.ServiceError | string | undefined;
    for (let i = 0; i < CALLS && down.calls.clientStream === 0; i++) {
      big = await new Promise<grpc.ServiceError | string>((resolve) => {
        const call = c.clientStream((err: grpc.ServiceError | null, v?: Buffer) => resolve(err ?? v!.toString())) as grpc.ClientWritableStream<Buffer>;
        for (let k = 0; k < 10; k++) call.write(Buffer.alloc(8_192, 0x61));
        call.end();
      });
    }
    expect(big).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(attempts("/test.Echo/ClientStream").at(-1)).toBe(1);
  });

  it("within the circuit breaker's max_retries: with 0 allowed, no retry", async () => {
    const down = await server(grpc.status.UNAVAILABLE);
    const up = await server(null);
    const c = await proxy([down.address, up.address], RETRY, { circuit_breakers: [{ max_retries: 0 }] });
    let r: Awaited<ReturnType<typeof unary>> | undefined;
    for (let i = 0; i < CALLS && down.calls.unary === 0; i++) r = await unary(c, "x");
    expect(r!.error).toMatchObject({ code: grpc.status.UNAVAILABLE, details: "failing on purpose" });
    expect(attempts("/test.Echo/Unary").at(-1)).toBe(1);
  });
});

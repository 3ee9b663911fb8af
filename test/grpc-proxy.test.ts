// gRPC through the proxy (issue 15): a real @grpc/grpc-js client calls a real @grpc/grpc-js server through an
// h2c listener and a cluster spoken to in HTTP/2 (http2_protocol_options). Unary, server, client and
// bidirectional streaming calls arrive with their metadata and trailers; what the proxy answers itself is a
// gRPC status (UNAVAILABLE for no host, DEADLINE_EXCEEDED for the route timeout or grpc-timeout,
// PERMISSION_DENIED for a plugin's 403), not an HTTP error a gRPC client cannot read.

import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";
import { refusingAddress } from "./helpers/upstreams.js";
import { HostStatus } from "../host/cluster/types.js";

const id = (b: Buffer) => b;
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`, requestStream, responseStream,
  requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id,
});
const SERVICE = {
  unary: method("Unary", false, false),
  serverStream: method("ServerStream", false, true),
  clientStream: method("ClientStream", true, false),
  bidi: method("Bidi", true, true),
} as const;
type EchoClient = grpc.Client & Record<keyof typeof SERVICE, (...args: unknown[]) => unknown>;
const Client = grpc.makeGenericClientConstructor(SERVICE as unknown as grpc.ServiceDefinition, "Echo") as unknown as new (address: string, creds: grpc.ChannelCredentials) => EchoClient;

let server: grpc.Server | undefined;
let sy: RunningSwitchyard | undefined;
let client: EchoClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await sy?.close();
  sy = undefined;
  server?.forceShutdown();
  server = undefined;
});

async function startGrpcServer(delayMs = 0): Promise<string> {
  server = new grpc.Server();
  server.addService(SERVICE as unknown as grpc.ServiceDefinition, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const text = call.request.toString();
      const trailer = new grpc.Metadata();
      trailer.set("x-trailer", "kept");
      const answer = () => {
        if (text === "fail") cb({ code: grpc.status.NOT_FOUND, details: "no such thing" });
        else cb(null, Buffer.from(`echo:${text}:${call.metadata.get("x-meta")[0] ?? ""}`), trailer);
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    },
    serverStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = Number(call.request.toString());
      for (let i = 0; i < n; i++) call.write(Buffer.from(`item ${i}`));
      call.end();
    },
    clientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const parts: string[] = [];
      call.on("data", (b: Buffer) => parts.push(b.toString()));
      call.on("end", () => cb(null, Buffer.from(parts.join("+"))));
    },
    bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", (b: Buffer) => call.write(Buffer.from(b.toString().toUpperCase())));
      call.on("end", () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server!.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return `127.0.0.1:${port}`;
}

async function proxy(hosts: string[], route: object = {}, plugins?: string[]): Promise<EchoClient> {
  sy = await startSwitchyard({
    config: mosnConfig({
      clusters: [{ name: "grpc", hosts, extra: { http2_protocol_options: {} } }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "grpc", timeout: "5s", ...route } }])],
      proxy: { downstream_protocol: "Http2" },
    }),
    ...(plugins ? { plugins } : {}),
  });
  client = new Client(sy.url.replace("http://", ""), grpc.credentials.createInsecure());
  return client;
}

function unary(c: EchoClient, text: string, meta: Record<string, string> = {}, deadlineMs?: number): Promise<{ value?: string; error?: grpc.ServiceError; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(meta)) md.set(k, v);
    let result: { value?: string; error?: grpc.ServiceError } | undefined;
    // The callback comes first, then 'status' with the trailing metadata.
    const call = c.unary(Buffer.from(text), md, deadlineMs ? { deadline: Date.now() + deadlineMs } : {}, (error: grpc.ServiceError | null, value?: Buffer) => {
      result = error ? { error } : { value: value!.toString() };
    }) as grpc.ClientUnaryCall;
    call.on("status", (s: grpc.StatusObject) => resolve({ ...result, trailers: s.metadata }));
  });
}

/**
 * A raw HTTP/2 unary call with `grpc-timeout`, so that no client-side deadline ends it first: only the proxy
 * can. Resolves with its trailers.
 */
async function rawUnary(grpcTimeout: string): Promise<http2.IncomingHttpHeaders> {
  const session = http2.connect(sy!.url);
  try {
    const stream = session.request({ ":method": "POST", ":path": "/test.Echo/Unary", "content-type": "application/grpc", te: "trailers", "grpc-timeout": grpcTimeout });
    stream.end(Buffer.from([0, 0, 0, 0, 4, ...Buffer.from("slow")]));
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.on("trailers", resolve));
    stream.resume();
    return trailers;
  } finally {
    session.destroy();
  }
}

describe("gRPC calls through an h2c listener to an HTTP/2 cluster", () => {
  it("unary: the answer, the request metadata and the trailers arrive; an error status the server gives too", async () => {
    const c = await proxy([await startGrpcServer()]);
    const ok = await unary(c, "hi", { "x-meta": "m1" });
    expect(ok.value).toBe("echo:hi:m1");
    expect(ok.trailers!.get("x-trailer")).toEqual(["kept"]);
    const bad = await unary(c, "fail");
    expect(bad.error).toMatchObject({ code: grpc.status.NOT_FOUND, details: "no such thing" });
    expect(sy!.accessLog().at(-1)).toMatchObject({ status: 200, path: "/test.Echo/Unary", cluster: "grpc" });
  });

  it("server streaming, client streaming and bidirectional calls", async () => {
    const c = await proxy([await startGrpcServer()]);
    const items = await new Promise<string[]>((resolve, reject) => {
      const got: string[] = [];
      const call = c.serverStream(Buffer.from("3")) as grpc.ClientReadableStream<Buffer>;
      call.on("data", (b: Buffer) => got.push(b.toString()));
      call.on("end", () => resolve(got));
      call.on("error", reject);
    });
    expect(items).toEqual(["item 0", "item 1", "item 2"]);

    const joined = await new Promise<string>((resolve, reject) => {
      const call = c.clientStream((err: grpc.ServiceError | null, v?: Buffer) => (err ? reject(err) : resolve(v!.toString()))) as grpc.ClientWritableStream<Buffer>;
      for (const p of ["a", "b", "c"]) call.write(Buffer.from(p));
      call.end();
    });
    expect(joined).toBe("a+b+c");

    // Bidirectional: each answer arrives before the next message is sent, so the two directions really interleave.
    const call = c.bidi() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const answers: string[] = [];
    for (const word of ["one", "two", "three"]) {
      const next = new Promise<string>((resolve) => call.once("data", (b: Buffer) => resolve(b.toString())));
      call.write(Buffer.from(word));
      answers.push(await next);
    }
    const ended = new Promise<void>((resolve) => call.on("end", () => resolve()));
    call.on("data", () => undefined);
    call.end();
    await ended;
    expect(answers).toEqual(["ONE", "TWO", "THREE"]);
  });
});

describe("what the proxy answers itself is a gRPC status", () => {
  it("no host to connect to: UNAVAILABLE (14), with the proxy's reason", async () => {
    const c = await proxy([await refusingAddress()]);
    const r = await unary(c, "x");
    expect(r.error).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(r.error!.details).toMatch(/^cannot connect to upstream 127\.0\.0\.1:\d+/);
  });

  it("the route timeout: DEADLINE_EXCEEDED (4)", async () => {
    const c = await proxy([await startGrpcServer(2_000)], { timeout: "200ms" });
    const r = await unary(c, "slow");
    expect(r.error).toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED, details: "route timeout of 200 ms passed" });
    expect(sy!.accessLog().at(-1)).toMatchObject({ reason: "E_ROUTE_TIMEOUT" });
  });

  it("grpc-timeout shorter than the route timeout is the deadline the proxy enforces", async () => {
    await proxy([await startGrpcServer(2_000)], { timeout: "10s" });
    const started = performance.now();
    const trailers = await rawUnary("300m");
    expect(trailers).toMatchObject({ "grpc-status": "4", "grpc-message": "route timeout of 300 ms passed" });
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(sy!.accessLog().at(-1)).toMatchObject({ reason: "E_ROUTE_TIMEOUT" });
  });

  it("grpc-timeout is also the deadline of the wait for a host: DEADLINE_EXCEEDED within it, not at the route timeout", async () => {
    // The route asks for hosts tagged v2 (none) and the one host is unreachable, so the call waits for a host
    // to become available (docs/config.md fail_fast), within its deadline.
    const address = await startGrpcServer();
    await proxy([address], { timeout: "10s", metadata_match: { filter_metadata: { "mosn.lb": { version: "v2" } } } });
    sy!.host.clusters.get("grpc")!.host(address)!.setStatus(HostStatus.Unavailable);
    const started = performance.now();
    const trailers = await rawUnary("200m");
    expect(trailers["grpc-status"]).toBe("4");
    expect(trailers["grpc-message"]).toMatch(/no host became available within \d+ ms \(the call's grpc-timeout \(200 ms\)\)$/);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(sy!.accessLog().at(-1)).toMatchObject({ status: 503, reason: "E_NO_HOST" });
  });

  it("a plugin's Reject 403 is PERMISSION_DENIED (7) with the plugin's body as the message", async () => {
    const c = await proxy([await startGrpcServer()], { switchyard: { fallback: "any" } }, ["deny"]);
    const r = await unary(c, "x", { "x-client": "bad-bot" });
    expect(r.error).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: "denied" });
    expect((await unary(c, "y")).value).toBe("echo:y:");
  });
});

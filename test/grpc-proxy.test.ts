// gRPC through the proxy (issue 15): a real @grpc/grpc-js client calls a real @grpc/grpc-js server through an
// h2c listener and a cluster spoken to in HTTP/2 (http2_protocol_options). Unary, server, client and
// bidirectional streaming calls arrive with their metadata and trailers; what the proxy answers itself is a
// gRPC status (UNAVAILABLE for no host, DEADLINE_EXCEEDED for the route timeout or grpc-timeout,
// PERMISSION_DENIED for a plugin's 403), not an HTTP error a gRPC client cannot read.

import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { anyHost, mosnConfig, startSwitchyard, type RunningSwitchyard } from "./helpers/switchyard.js";
import { bindGrpc, Client, type EchoClient, SERVICE, unary } from "./helpers/grpc.js";
import { refusingAddress } from "./helpers/upstreams.js";
import { HostStatus } from "../host/cluster/types.js";
import { explain } from "../host/explain/explain.js";

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
  return bindGrpc(server);
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

  it("a Wait verdict that would pass the call's grpc-timeout is answered DEADLINE_EXCEEDED at once", async () => {
    await proxy([await startGrpcServer()], { timeout: "10s" }, ["drain"]);
    const drain = sy!.host.registry.get("drain")!;
    sy!.host.registry.install(drain.reconfigure(JSON.stringify({ draining: true, waitMs: 5_000 }), 2));
    const started = performance.now();
    const trailers = await rawUnary("200m");
    expect(trailers).toMatchObject({ "grpc-status": "4", "grpc-message": "plugin drain asked to wait: the wait would pass the call's grpc-timeout (200 ms)" });
    // Not after the 5 s wait.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(sy!.accessLog().at(-1)).toMatchObject({ status: 503, reason: "E_WAIT_EXHAUSTED" });
  });

  it("a plugin's Reject 403 is PERMISSION_DENIED (7) with the plugin's body as the message", async () => {
    const c = await proxy([await startGrpcServer()], { switchyard: { fallback: "any" } }, ["deny"]);
    const r = await unary(c, "x", { "x-client": "bad-bot" });
    expect(r.error).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: "denied" });
    expect((await unary(c, "y")).value).toBe("echo:y:");
  });
});

describe("a plugin's Reject chooses its gRPC status (Result.rejectGrpc, sdk/ABI.md §5.2 grpc-status)", () => {
  // test/fixtures/grpc-reject rejects by the x-grpc-code header: "N" is rejectGrpc(N, message), "N/H" with HTTP
  // status H, "raw:V" a Reject whose grpc-status metadata is V unchecked.
  const MESSAGE = "quota: 100% used, réessayez";
  const FIXTURE = ["test/fixtures/grpc-reject/bundle"];

  it("the gRPC client gets the chosen code and the message, percent-encoded on the wire and decoded by the client", async () => {
    const c = await proxy([await startGrpcServer()], {}, FIXTURE);
    const exhausted = await unary(c, "x", { "x-grpc-code": "8" });
    expect(exhausted.error).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: MESSAGE });
    const precondition = await unary(c, "x", { "x-grpc-code": "9/412" });
    expect(precondition.error).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: MESSAGE });
    expect(sy!.accessLog().at(-1)).toMatchObject({ status: 412, plugin: "grpc-reject" });
    // A call the plugin lets through still reaches the server.
    expect((await unary(c, "y")).value).toBe("echo:y:");
    // On the wire: grpc-message percent-encoded (gRPC over HTTP/2), HTTP 200.
    const session = http2.connect(sy!.url);
    try {
      const stream = session.request({ ":method": "POST", ":path": "/test.Echo/Unary", "content-type": "application/grpc", te: "trailers", "x-grpc-code": "7" });
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
      const [head, trailers] = await Promise.all([
        new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("response", resolve)),
        new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve)),
        new Promise<void>((resolve) => stream.resume().once("end", resolve)),
      ]);
      expect(head[":status"]).toBe(200);
      expect(trailers).toMatchObject({ "grpc-status": "7", "grpc-message": "quota: 100%25 used, r%C3%A9essayez" });
    } finally {
      session.destroy();
    }
  });

  it("a request that is not a gRPC call gets the Reject's HTTP status and body: the SDK's status of the same meaning, or the one given", async () => {
    await proxy([await startGrpcServer()], {}, FIXTURE);
    const session = http2.connect(sy!.url);
    try {
      const get = async (code: string) => {
        const stream = session.request({ ":path": "/plain", "x-grpc-code": code });
        stream.end();
        const head = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("response", resolve));
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        return { status: head[":status"], type: head["content-type"], body: Buffer.concat(chunks).toString() };
      };
      expect(await get("8")).toEqual({ status: 429, type: "text/plain; charset=utf-8", body: MESSAGE });
      expect(await get("14")).toMatchObject({ status: 503, body: MESSAGE });
      expect(await get("9/412")).toMatchObject({ status: 412, body: MESSAGE });
    } finally {
      session.destroy();
    }
  });

  it("a grpc-status that is not a code 0..16 is the plugin's bad answer: its failure policy applies and the log names the value", async () => {
    const c = await proxy([await startGrpcServer()], {}, FIXTURE);
    for (const bad of ["17", "-1", "08", "UNAVAILABLE"]) {
      const r = await unary(c, "x", { "x-grpc-code": `raw:${bad}` });
      // The fixture fails closed: the proxy's own 503, UNAVAILABLE, not a status the plugin did not validly give.
      expect(r.error).toMatchObject({ code: grpc.status.UNAVAILABLE, details: "routing failed: plugin grpc-reject failed and its policy is fail-closed" });
      expect(sy!.logs.some((l) => JSON.stringify(l).includes(`invalid answer: meta[0].value grpc-status ${JSON.stringify(JSON.stringify(bad)).slice(1, -1)} is not a gRPC status code 0..16`))).toBe(true);
    }
    // A valid raw grpc-status is the code.
    expect((await unary(c, "x", { "x-grpc-code": "raw:10" })).error).toMatchObject({ code: grpc.status.ABORTED, details: MESSAGE });
  });

  it("explain shows the gRPC status a Reject names", async () => {
    await proxy([await startGrpcServer()], {}, FIXTURE);
    const e = explain({ config: sy!.host.config, clusters: sy!.host.clusters, registry: sy!.host.registry }, { path: "/test.Echo/Unary", headers: { "content-type": "application/grpc", "x-grpc-code": "8" } });
    expect(e.decision).toBe("reject 429, a gRPC call grpc-status 8 RESOURCE_EXHAUSTED");
    expect(e.verdict).toEqual({ kind: "reject", status: 429, body: MESSAGE, grpcStatus: 8, plugin: "grpc-reject" });
  });
});

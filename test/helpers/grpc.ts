// A generic gRPC service for tests (test/grpc-proxy.test.ts, test/grpc-retry.test.ts): four methods of
// /test.Echo, one of each streaming kind, on raw bytes (no protobuf), and a unary call that resolves with its
// value or error and its trailing metadata.

import * as grpc from "@grpc/grpc-js";

const id = (b: Buffer) => b;
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`, requestStream, responseStream,
  requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id,
});
export const SERVICE = {
  unary: method("Unary", false, false),
  serverStream: method("ServerStream", false, true),
  clientStream: method("ClientStream", true, false),
  bidi: method("Bidi", true, true),
} as const;
export type EchoClient = grpc.Client & Record<keyof typeof SERVICE, (...args: unknown[]) => unknown>;
export const Client = grpc.makeGenericClientConstructor(SERVICE as unknown as grpc.ServiceDefinition, "Echo") as unknown as new (address: string, creds: grpc.ChannelCredentials) => EchoClient;

/** Starts `server` on 127.0.0.1, port 0; resolves with its "127.0.0.1:port". */
export async function bindGrpc(server: grpc.Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return `127.0.0.1:${port}`;
}

export function unary(c: EchoClient, text: string, meta: Record<string, string> = {}, deadlineMs?: number): Promise<{ value?: string; error?: grpc.ServiceError; trailers?: grpc.Metadata }> {
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


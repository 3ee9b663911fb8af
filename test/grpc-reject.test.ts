// A Reject that names its gRPC status (sdk/ABI.md §5.2 grpc-status, the SDK's Result.rejectGrpc), the same
// from a raw bundle and from the same source built as a component of switchyard:router/plugin@1.0.0: the test
// harness reads the code as the host does and refuses a bad one as the host does. test/grpc-proxy.test.ts
// shows a real gRPC client getting the code.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPlugin } from "../host/build/build-plugin.js";
import { loadBundle, type TestPlugin } from "../sdk/harness/index.js";

const REPO = new URL("../", import.meta.url).pathname;
const MESSAGE = "quota: 100% used, réessayez";
const HOSTS = [{ address: "127.0.0.1:18081" }];

let root: string;
const built: Record<string, TestPlugin> = {};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-grpc-reject-"));
  for (const component of [false, true]) {
    const out = join(root, component ? "component" : "raw");
    await buildPlugin(join(REPO, "test/fixtures/grpc-reject"), out, { cwd: REPO, check: false, component });
    built[component ? "component" : "raw"] = await loadBundle(out);
  }
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.each(["raw", "component"])("a %s bundle", (kind) => {
  const route = (code: string) => built[kind]!.route({ headers: { "x-grpc-code": code } }, HOSTS);

  it("rejectGrpc: the code as grpc-status, the HTTP status of the same meaning or the one given", () => {
    expect(route("8")).toMatchObject({ verdict: "reject", status: 429, body: MESSAGE, grpcStatus: 8, metadata: { "grpc-status": "8" } });
    expect(route("14")).toMatchObject({ status: 503, grpcStatus: 14 });
    expect(route("0")).toMatchObject({ status: 200, grpcStatus: 0 });
    expect(route("9/412")).toMatchObject({ status: 412, grpcStatus: 9 });
    expect(route("raw:16")).toMatchObject({ status: 429, grpcStatus: 16 });
  });

  it("a code outside 0..16: the SDK aborts naming the call; a raw bad value is the host's E_PLUGIN_ANSWER naming the field", () => {
    expect(() => route("17")).toThrow(/Result\.rejectGrpc: code 17 is not a gRPC status code 0\.\.16/);
    expect(() => route("raw:17")).toThrow(/invalid answer: meta\[0\]\.value grpc-status "17" is not a gRPC status code 0\.\.16/);
    // The plugin serves again after a failure (a fresh instance), and a plain accept names no status.
    expect(built[kind]!.route({}, HOSTS)).toMatchObject({ verdict: "accept", kept: [0] });
    expect(route("8").grpcStatus).toBe(8);
  });
});

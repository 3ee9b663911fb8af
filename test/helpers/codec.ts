// Which HTTP/1.1 codec the listeners and fronts of a test run get (issue 19): the default llhttp codec
// (host/server/http1/); vitest.config.ts runs the proxy, hostile-input and streaming files once more on node:http
// and tells that run SWITCHYARD_TEST_HTTP1_CODEC=node.
export type TestHttp1Codec = "node" | "llhttp";

/** Which upstream HTTP/1.1 client the hosts and harnesses of a run get (SWITCHYARD_TEST_UPSTREAM_CLIENT). */
export type TestUpstreamClient = "undici" | "llhttp";

export const TEST_UPSTREAM_CLIENT: TestUpstreamClient = process.env["SWITCHYARD_TEST_UPSTREAM_CLIENT"] === "undici" ? "undici" : "llhttp";

export const TEST_HTTP1_CODEC: TestHttp1Codec = process.env["SWITCHYARD_TEST_HTTP1_CODEC"] === "node" ? "node" : "llhttp";

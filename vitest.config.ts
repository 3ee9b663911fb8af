import { defineConfig } from "vitest/config";

// The files that run twice, once per HTTP/1.1 codec of the listeners (issue 19: every proxy, hostile-input and
// streaming test passes on both): on the default llhttp codec, and once more on node:http (the project
// "node-http1"). test/helpers/switchyard.ts and front.ts read the variable.
const BOTH_CODECS = [
  "test/hostile-client.test.ts", "test/hostile-upstream.test.ts", "test/hostile-hosts.test.ts", "test/e2e-*.test.ts",
  "test/proxy-forward.test.ts", "test/proxy-failures.test.ts", "test/proxy-streaming.test.ts",
  "test/tls-listener.test.ts", "test/tls-client-certs.test.ts", "test/http2-listener.test.ts",
];

// The files that run once more on undici's upstream client (switchyard.upstream_client "undici"; the default is
// the llhttp client of host/proxy/h1/, issue 19):
// every file whose requests reach an upstream through a host (test/helpers/switchyard.ts), the forwarder harness
// or a PoolRegistry (test/helpers/forwarder-harness.ts, proxy-pools), on the default listener codec. HTTP/2 clusters keep
// undici's client there too.
const UPSTREAM_CLIENT_FILES = [
  "test/hostile-client.test.ts", "test/hostile-hosts.test.ts", "test/hostile-upstream*.test.ts", "test/e2e-*.test.ts", "test/proxy-*.test.ts", "test/tls-*.test.ts", "test/http2-*.test.ts",
  "test/grpc-*.test.ts", "test/circuit-breaker.test.ts", "test/health-check.test.ts", "test/route-names.test.ts",
  "test/component-bundles.test.ts",
];

// Two cores on the CI machine: a few forks, generous timeouts for tests that start servers and compile wasm.
export default defineConfig({
  test: {
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: "main", include: ["test/**/*.test.ts"] } },
      { extends: true, test: { name: "node-http1", include: BOTH_CODECS, env: { SWITCHYARD_TEST_HTTP1_CODEC: "node" } } },
      { extends: true, test: { name: "upstream-undici", include: UPSTREAM_CLIENT_FILES, env: { SWITCHYARD_TEST_UPSTREAM_CLIENT: "undici" } } },
    ],
  },
});

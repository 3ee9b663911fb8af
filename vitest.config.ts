import { defineConfig } from "vitest/config";

// The files that run twice, once per HTTP/1.1 codec of the listeners (issue 19: every proxy, hostile-input and
// streaming test passes on the llhttp codec too). test/helpers/switchyard.ts and front.ts read the variable.
const BOTH_CODECS = [
  "test/hostile-client.test.ts", "test/hostile-upstream.test.ts", "test/hostile-hosts.test.ts", "test/e2e-*.test.ts",
  "test/proxy-forward.test.ts", "test/proxy-failures.test.ts", "test/proxy-streaming.test.ts",
  "test/tls-listener.test.ts", "test/tls-client-certs.test.ts", "test/http2-listener.test.ts",
];

// Two cores on the CI machine: a few forks, generous timeouts for tests that start servers and compile wasm.
export default defineConfig({
  test: {
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: "node", include: ["test/**/*.test.ts"] } },
      { extends: true, test: { name: "llhttp", include: BOTH_CODECS, env: { SWITCHYARD_TEST_HTTP1_CODEC: "llhttp" } } },
    ],
  },
});

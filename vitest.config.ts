import { defineConfig } from "vitest/config";

// Two cores on the CI machine: a few forks, generous timeouts for tests that start servers and compile wasm.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});

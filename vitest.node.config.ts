import { defineConfig } from "vitest/config";

// Node-side tests: shared contract, host agent (real Docker engine), CLI, and end-to-end runs
// that start `wrangler dev` and a real agent. Scheduler tests are pure logic and run here too.
export default defineConfig({
  test: {
    name: "node",
    include: [
      "test/shared/**/*.test.ts",
      "test/scheduler/**/*.test.ts",
      "test/verification/**/*.test.ts",
      "test/region/**/*.test.ts",
      "test/local-chain/**/*.test.ts",
      "test/agent/**/*.test.ts",
      "test/cli/**/*.test.ts",
      "test/e2e/**/*.test.ts",
      "test/chaos/**/*.test.ts",
      "test/browser/**/*.test.ts",
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});

import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Worker, Durable Object and D1 tests: they run inside workerd with the real bindings.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "schema/migrations"));
  return {
    plugins: [
      cloudflareTest({
        main: "./src/worker/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        // The operator token guards operator-only routes (POST /v1/credits); tests use a fixed one.
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            OPERATOR_TOKEN: "test-operator-token",
            // Test agents claim GPUs they cannot prove; verification has tests of its own.
            REQUIRE_VERIFIED_GPUS: "false",
            // Seals secrets and signs storage URLs; a fixed test key (deployments set a secret).
            SECRETS_KEY: "a".repeat(64),
            STORAGE_PART_SIZE_BYTES: String(5 * 1024 * 1024),
          },
        },
      }),
    ],
    test: {
      name: "workers",
      include: ["test/worker/**/*.test.ts"],
      setupFiles: ["./test/worker/apply-migrations.ts"],
    },
  };
});

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { startWorkerTestChain } from "./test/support/worker-chain.js";
import { startWorkerTestS3 } from "./test/support/worker-s3.js";

/** wrangler.toml's regions and one more, "sa-east", split into 3 Region objects (test/worker/region-shards.test.ts). */
function regionsWithShardedOne(): string {
  const toml = readFileSync(path.join(import.meta.dirname, "wrangler.toml"), "utf8");
  const listed = /^REGIONS = '(.*)'$/m.exec(toml)?.[1];
  if (!listed) throw new Error("wrangler.toml has no REGIONS line");
  return JSON.stringify([...JSON.parse(listed), { id: "sa-east", lat: -23.5, lon: -46.6 }]);
}

export interface WorkersSuite {
  name: string;
  include: string[];
  exclude?: string[];
  /** "false" admits unverified GPU nodes (most suites); the verified suite runs the production "true". */
  requireVerifiedGpus: "true" | "false";
}

/** The workerd suites' config, shared by the plain suite and the verified one (vitest.workers-verified.config.ts). */
export function workersConfig(suite: WorkersSuite) {
  return defineConfig(async () => {
    // wrangler.toml serves the console's build as static assets; the pool refuses a missing folder.
    execFileSync(process.execPath, [path.join(import.meta.dirname, "scripts/build-console.mjs"), "--quiet"], {
      stdio: "inherit",
    });
    const migrations = await readD1Migrations(path.join(import.meta.dirname, "schema/migrations"));
    // Chain tests pay on a local Solana JSON-RPC server (src/local-chain), started here on a free port.
    const chain = await startWorkerTestChain();
    // Storage tests use s3rver as a user's S3 bucket (test/support/worker-s3.ts).
    const s3 = await startWorkerTestS3();
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
              // Every region is one Region object, as deployed by default, but "sa-east" (REGION_SHARDS).
              REGIONS: regionsWithShardedOne(),
              REGION_SHARDS: JSON.stringify({ "sa-east": 3 }),
              // Test agents claim GPUs they cannot prove; verification has tests of its own, and
              // test/worker/verified/ runs with the production setting.
              REQUIRE_VERIFIED_GPUS: suite.requireVerifiedGpus,
              // Endpoint tests place callers with x-meridian-dev-location (honoured only on local hosts).
              DEV_LOCATION_HEADER: "true",
              // A test agent polls only when its test says so; on a loaded machine the gap between two
              // steps can pass the 5 s silence floor and lose its attempts. Tests that want a node gone
              // say so (expireLeases, a dropped held poll), so wall-clock silence never decides here.
              MIN_SILENCE_MS: "600000",
              // Seals secrets and signs storage URLs; a fixed test key (deployments set a secret).
              SECRETS_KEY: "a".repeat(64),
              // Regions' receipt-countersigning keys derive from it; a fixed test seed.
              REGION_SIGNING_SEED: "b".repeat(64),
              STORAGE_PART_SIZE_BYTES: String(5 * 1024 * 1024),
              // Suites sign up hundreds of accounts from one (absent) address; rate-limits.test.ts
              // tests the limits themselves with its own settings.
              RATE_LIMITS: JSON.stringify({
                signupPerAddress: { limit: 1_000_000, windowSeconds: 60 },
                requestsPerKey: { limit: 1_000_000, windowSeconds: 60 },
                authFailuresPerAddress: { limit: 1_000_000, windowSeconds: 60 },
              }),
              ...chain.bindings,
              ...s3.bindings,
              // Fuzz sizes and seed (test/worker/fuzz-*.test.ts); unset: the CI defaults.
              FUZZ_CASES: process.env.FUZZ_CASES ?? "",
              FUZZ_AGENT_CASES: process.env.FUZZ_AGENT_CASES ?? "",
              FUZZ_SEED: process.env.FUZZ_SEED ?? "",
            },
          },
        }),
      ],
      test: {
        name: suite.name,
        include: suite.include,
        exclude: suite.exclude ?? [],
        setupFiles: ["./test/worker/apply-migrations.ts", "./test/worker/secure-context.ts"],
        globalSetup: ["./test/support/worker-chain-teardown.ts", "./test/support/worker-s3-teardown.ts"],
        // Most tests take well under a second, but npm test runs this suite beside the Node suite,
        // and a test that waits on the local chain's blocks or a Durable Object's alarm can pass 5 s
        // on a loaded machine. A cap, not a timed assertion: nothing here measures speed.
        testTimeout: 30_000,
      },
    };
  });
}

// Worker, Durable Object and D1 tests: they run inside workerd with the real bindings.
export default workersConfig({
  name: "workers",
  include: ["test/worker/**/*.test.ts"],
  exclude: ["test/worker/verified/**"],
  requireVerifiedGpus: "false",
});

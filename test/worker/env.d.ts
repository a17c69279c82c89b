import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      // The local chain's accounts (test/support/worker-chain.ts), bound by the workers config.
      USDC_MINT: string;
      MRD_MINT: string;
      STAKE_VAULT: string;
      BURN_VAULT: string;
      TREASURY_SECRET_KEY: string;
      // s3rver as a user's S3 bucket (test/support/worker-s3.ts), bound by the workers config.
      TEST_S3_ENDPOINT: string;
      TEST_S3_BUCKET: string;
      TEST_S3_CREDENTIALS: string;
    }
  }
}

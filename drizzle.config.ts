import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: [
    "./schema/tables.ts",
    "./schema/ledger.ts",
    "./schema/audit.ts",
    "./schema/chain.ts",
    "./schema/storage.ts",
    "./schema/endpoints.ts",
    "./schema/payouts.ts",
    "./schema/disputes.ts",
    "./schema/receipts.ts",
    "./schema/burns.ts",
    "./schema/staking.ts",
    "./schema/referrals.ts",
    "./schema/devices.ts",
  ],
  out: "./schema/migrations",
});

import { Hono } from "hono";
import { deploymentGuard } from "./deployment-guard.js";
import { errorBoundary } from "./error-boundary.js";
import { openAiRoutes, proxyRoutes } from "./gateway/openai-routes.js";
import type { AppEnv } from "./hono-env.js";
import { openApiRoute } from "./openapi/openapi-route.js";
import { limitSignups } from "./rate-limits.js";
import { requireAccount } from "./require-account.js";
import { accountEventRoutes } from "./routes/account-events.js";
import { accountLimitRoutes } from "./routes/account-limits.js";
import { accountRoutes } from "./routes/accounts.js";
import { agentRoutes } from "./routes/agent.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { auditRoutes } from "./routes/audit.js";
import { balanceRoutes } from "./routes/balance.js";
import { bandwidthProbeRoutes } from "./routes/bandwidth-probe.js";
import { creditRoutes } from "./routes/credits.js";
import { devFaucetRoutes } from "./routes/dev-faucet.js";
import { jobAttemptRoutes, operatorDisputeRoutes } from "./routes/disputes.js";
import { earningsRoutes } from "./routes/earnings.js";
import { endpointRoutes } from "./routes/endpoints.js";
import { estimateRoutes } from "./routes/estimates.js";
import { health } from "./routes/health.js";
import { jobRoutes } from "./routes/jobs.js";
import { ledgerRoutes } from "./routes/ledger.js";
import { nodeRoutes } from "./routes/nodes.js";
import { operatorRoutes } from "./routes/operator.js";
import { operatorBurnRoutes } from "./routes/operator-burns.js";
import { operatorPayoutRoutes } from "./routes/operator-payouts.js";
import { payoutWalletRoutes } from "./routes/payout-wallet.js";
import { payoutRoutes } from "./routes/payouts.js";
import { pricingRoutes } from "./routes/pricing.js";
import { providerNodeRoutes } from "./routes/provider-nodes.js";
import { quoteRoutes } from "./routes/quotes.js";
import { receiptRoutes } from "./routes/receipts.js";
import { operatorReceiptRoutes } from "./routes/receipts-operator.js";
import { referralRoutes } from "./routes/referrals.js";
import { regionRoutes } from "./routes/regions.js";
import { secretRoutes } from "./routes/secrets.js";
import { stakingRoutes } from "./routes/staking.js";
import { operatorStakingRoutes } from "./routes/staking-operator.js";
import { storageSweepRoutes } from "./routes/storage-sweeps.js";
import { storageUrlRoutes } from "./routes/storage-urls.js";
import { templateRoutes } from "./routes/templates.js";
import { tokenRoutes } from "./routes/token.js";
import { topupRoutes } from "./routes/topups.js";
import { uploadRoutes } from "./routes/uploads.js";
import { usageRoutes } from "./routes/usage.js";
import { walletAuthRoutes } from "./routes/wallet-auth.js";

/** The edge API: one error boundary, resources mounted per route group. */
export const app = new Hono<AppEnv>()
  .use(deploymentGuard)
  .route("/v1/health", health)
  .route("/v1/regions", regionRoutes)
  .use("/v1/accounts", limitSignups)
  .route("/v1/accounts", accountRoutes)
  // Before /v1/agent, whose routes are all signed: an agent times this before it registers.
  .route("/v1/agent/bandwidth-probe", bandwidthProbeRoutes)
  .route("/v1/agent", agentRoutes)
  // The inference gateway checks keys itself (no D1 read per request), so it comes before requireAccount.
  .route("/v1", openAiRoutes)
  .route("/v1/endpoints", proxyRoutes)
  .use("/v1/endpoints/*", requireAccount)
  .route("/v1/endpoints", endpointRoutes)
  .use("/v1/jobs/*", requireAccount)
  .use("/v1/nodes/*", requireAccount)
  .route("/v1/jobs", jobRoutes)
  .route("/v1/jobs", jobAttemptRoutes)
  .route("/v1/nodes", nodeRoutes)
  .use("/v1/balance/*", requireAccount)
  .use("/v1/ledger/*", requireAccount)
  .use("/v1/usage/*", requireAccount)
  .use("/v1/provider/*", requireAccount)
  .use("/v1/estimates/*", requireAccount)
  .use("/v1/quotes/*", requireAccount)
  .route("/v1/balance", balanceRoutes)
  .route("/v1/ledger", ledgerRoutes)
  .route("/v1/usage", usageRoutes)
  .route("/v1/provider/earnings", earningsRoutes)
  .route("/v1/provider/nodes", providerNodeRoutes)
  .route("/v1/provider/payout-wallet", payoutWalletRoutes)
  .route("/v1/provider/payouts", payoutRoutes)
  .route("/v1/provider/staking", stakingRoutes)
  .route("/v1/auth/wallet", walletAuthRoutes)
  .route("/v1/dev/faucet", devFaucetRoutes)
  .use("/v1/topups/*", requireAccount)
  .route("/v1/topups", topupRoutes)
  .route("/v1/operator/payouts", operatorPayoutRoutes)
  .route("/v1/operator/burns", operatorBurnRoutes)
  .route("/v1/operator/staking", operatorStakingRoutes)
  .route("/v1/token", tokenRoutes)
  .route("/v1/operator/receipts", operatorReceiptRoutes)
  .use("/v1/receipts/*", requireAccount)
  .route("/v1/receipts", receiptRoutes)
  .route("/v1/operator/disputes", operatorDisputeRoutes)
  .route("/v1/operator/storage", storageSweepRoutes)
  .route("/v1/operator", operatorRoutes)
  .route("/v1/estimates", estimateRoutes)
  .route("/v1/quotes", quoteRoutes)
  .route("/v1/credits", creditRoutes)
  .route("/v1/pricing", pricingRoutes)
  .use("/v1/account/*", requireAccount)
  .route("/v1/account/limits", accountLimitRoutes)
  .route("/v1/account/events", accountEventRoutes)
  .route("/v1/account/keys", apiKeyRoutes)
  .route("/v1/account/audit", auditRoutes)
  .route("/v1/account/referral", referralRoutes)
  .use("/v1/secrets/*", requireAccount)
  .route("/v1/secrets", secretRoutes)
  .use("/v1/uploads/*", requireAccount)
  .route("/v1/uploads", uploadRoutes)
  .route("/v1/templates", templateRoutes)
  // Presigned object URLs: the signature in the URL is the authorisation.
  .route("/v1/storage", storageUrlRoutes)
  .notFound((c) =>
    c.json({ error: { code: "not_found", message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  )
  .onError(errorBoundary);

/** The API reference, generated from the routes' own `doc()` descriptions (src/worker/openapi/). */
app.get("/v1/openapi.json", ...openApiRoute(app));

export type AppType = typeof app;

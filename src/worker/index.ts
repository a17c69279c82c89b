import { app } from "./app.js";
import { refundNodeFaults } from "./fault-refunds.js";
import { payoutsStub } from "./routes/operator-payouts.js";
import { receiptsStub } from "./routes/receipts-operator.js";
import { syncStakeTiers } from "./stake-tier.js";
import { sweepCheckpointOrphans } from "./storage/checkpoint-orphans.js";
import { sweepExpiredCheckpoints } from "./storage/checkpoint-sweep.js";
import { sweepExpiredLogs } from "./storage/log-store.js";
import { abortAbandonedUploads } from "./storage/multipart-uploads.js";
import { sweepExpiredOutputs } from "./storage/output-sweep.js";
import { sweepPendingTopups } from "./topup-sweep.js";

export { EndpointObject } from "../durable/endpoints/endpoint-object.js";
export { GatewayDirectory } from "../durable/endpoints/gateway-directory.js";
export { PayoutObject } from "../durable/payout-object.js";
export { RateLimiter } from "../durable/rate-limiter.js";
export { ReceiptObject } from "../durable/receipt-object.js";
export { RegionObject } from "../durable/region-object.js";

export default {
  fetch: app.fetch,
  /**
   * The cron trigger (wrangler.toml, every minute): top-ups paid but never read are credited, and
   * provider payouts run when their day (or week) has come, charges a node's fault caused are
   * refunded, and receipts are signed, batched and anchored.
   */
  scheduled(controller, env, ctx) {
    ctx.waitUntil(sweepPendingTopups(env, controller.scheduledTime));
    ctx.waitUntil(payoutsStub(env).wake(controller.scheduledTime));
    ctx.waitUntil(refundNodeFaults(env, controller.scheduledTime));
    ctx.waitUntil(receiptsStub(env).run());
    // Logs of jobs that ended longer ago than LOG_RETENTION_DAYS.
    ctx.waitUntil(sweepExpiredLogs(env, controller.scheduledTime));
    // Checkpoints of jobs ended past CHECKPOINT_RETENTION_SECONDS, and of expired pauses.
    ctx.waitUntil(sweepExpiredCheckpoints(env, controller.scheduledTime));
    // Checkpoint blobs and manifests no commit recorded (a sync that died), past their grace.
    ctx.waitUntil(sweepCheckpointOrphans(env, controller.scheduledTime));
    // Output files past their keep (keepForSeconds, or OUTPUT_RETENTION_SECONDS, from their upload).
    ctx.waitUntil(sweepExpiredOutputs(env, controller.scheduledTime));
    // Multipart uploads nobody can finish any more (the agent died, the job ended): their parts go.
    ctx.waitUntil(abortAbandonedUploads(env, controller.scheduledTime));
    // Stake tiers a region missed (unreachable when the stake changed, or the node moved region).
    ctx.waitUntil(syncStakeTiers(env));
  },
} satisfies ExportedHandler<Env>;

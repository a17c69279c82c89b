import { app } from "./app.js";
import { payoutsStub } from "./routes/operator-payouts.js";
import { sweepPendingTopups } from "./topup-sweep.js";

export { PayoutObject } from "../durable/payout-object.js";
export { RateLimiter } from "../durable/rate-limiter.js";
export { RegionObject } from "../durable/region-object.js";

export default {
  fetch: app.fetch,
  /**
   * The cron trigger (wrangler.toml, every minute): top-ups paid but never read are credited, and
   * provider payouts run when their day (or week) has come.
   */
  scheduled(controller, env, ctx) {
    ctx.waitUntil(sweepPendingTopups(env, controller.scheduledTime));
    ctx.waitUntil(payoutsStub(env).wake(controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;

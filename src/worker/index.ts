import { app } from "./app.js";
import { payoutsStub } from "./routes/operator-payouts.js";

export { PayoutObject } from "../durable/payout-object.js";
export { RateLimiter } from "../durable/rate-limiter.js";
export { RegionObject } from "../durable/region-object.js";

export default {
  fetch: app.fetch,
  /** The cron trigger (wrangler.toml): provider payouts when their day (or week) has come. */
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(payoutsStub(env).wake(Date.now()));
  },
} satisfies ExportedHandler<Env>;

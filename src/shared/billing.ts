import { z } from "zod";
import { UsdAmount } from "./money.js";

/**
 * How an attempt's lease is billed: `per_second` (the default), `hourly` (each started hour, for
 * reservations), `daily` (each started day), or `per_task` (a fixed price accepted up front).
 */
export const BillingMode = z.enum(["per_second", "hourly", "daily", "per_task"]);
export type BillingMode = z.infer<typeof BillingMode>;

/**
 * A job's billing terms; `fixedPrice` (integer µUSD once parsed, above 0) is required for `per_task`
 * and refused otherwise. A job without billing terms is billed `per_second`.
 */
export const Billing = z
  .object({ mode: BillingMode.default("per_second"), fixedPrice: UsdAmount.optional() })
  .strict()
  .superRefine((billing, ctx) => {
    if (billing.mode === "per_task" && billing.fixedPrice === undefined) {
      ctx.addIssue({ code: "custom", path: ["fixedPrice"], message: "per_task billing needs a fixedPrice" });
    }
    if (billing.fixedPrice === 0) {
      ctx.addIssue({ code: "custom", path: ["fixedPrice"], message: "fixedPrice must be more than 0" });
    }
    if (billing.mode !== "per_task" && billing.fixedPrice !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["fixedPrice"],
        message: "fixedPrice is only for per_task billing",
      });
    }
  });
export type Billing = z.output<typeof Billing>;

/** The terms a job without `billing` is billed on. */
export const DEFAULT_BILLING: Billing = { mode: "per_second" };

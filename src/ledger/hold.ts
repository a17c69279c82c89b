import { MeridianError } from "../shared/errors.js";
import { holdAccount, userAccount } from "./ledger-accounts.js";
import type { LedgerDb, LedgerStatement } from "./ledger-db.js";
import { requireBudget } from "./meter.js";
import { type PostedTransfer, postFreshTransfer, postTransfer, type TransferInput } from "./transfer.js";

export interface HoldInput {
  accountId: string;
  jobId: string;
  /** What to reserve: the job's budget, or the most its spec can cost (see `maxCost`). */
  amountMicros: number;
  /** Defaults to `hold:<jobId>`: one hold per job, however often the submit is retried. */
  idempotencyKey?: string;
  /** The smallest billable unit at the job's rate (see `minimumCharge`); a smaller hold is refused. */
  minimumMicros?: number;
  at?: number;
}

export function holdTransfer(input: HoldInput): TransferInput {
  return {
    debit: userAccount(input.accountId),
    credit: holdAccount(input.accountId, input.jobId),
    amountMicros: input.amountMicros,
    kind: "hold",
    idempotencyKey: input.idempotencyKey ?? `hold:${input.jobId}`,
    accountId: input.accountId,
    jobId: input.jobId,
    at: input.at,
  };
}

/**
 * Reserves a job's budget from its account's available balance (phase one of the two-phase hold).
 * Throws 402 `insufficient_funds` with {needed, available} when the balance cannot cover it, 400
 * `budget_below_minimum` below one billable unit, 400 `invalid_amount` for a non-positive or
 * fractional amount; in every case nothing moves. `alongside` (e.g. the job's insert) commits in the
 * same atomic batch, so a job row never exists without its hold.
 */
export async function holdForJob(
  db: LedgerDb,
  input: HoldInput,
  alongside: LedgerStatement[] = [],
): Promise<PostedTransfer> {
  requireHoldable(input);
  return postTransfer(db, holdTransfer(input), alongside);
}

/**
 * holdForJob for a job whose id was drawn by this admission (its default key `hold:<jobId>` cannot
 * have been used): one batch with `alongside`, no reads. The same refusals, and nothing moves.
 */
export async function holdForNewJob(
  db: LedgerDb,
  input: Omit<HoldInput, "idempotencyKey">,
  alongside: LedgerStatement[] = [],
): Promise<void> {
  requireHoldable(input);
  await postFreshTransfer(db, holdTransfer(input), alongside);
}

function requireHoldable(input: HoldInput): void {
  if (!Number.isSafeInteger(input.amountMicros) || input.amountMicros <= 0) {
    throw new MeridianError(400, "invalid_amount", "a hold must be a whole number of µUSD above 0", {
      amountMicros: input.amountMicros,
    });
  }
  requireBudget(input.amountMicros, input.minimumMicros ?? 1);
}

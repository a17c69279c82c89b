import { eq } from "drizzle-orm";
import { accounts } from "../../schema/tables.js";
import { MeridianError } from "../shared/errors.js";
import { CREDITS_ISSUER, userAccount } from "./ledger-accounts.js";
import { ledgerConfig } from "./ledger-config.js";
import type { LedgerDb, LedgerStatement } from "./ledger-db.js";
import { type PostedTransfer, postTransfer, type TransferInput, transferStatements } from "./transfer.js";

export interface CreditGrant {
  accountId: string;
  amountMicros: number;
  memo?: string | null;
  /** Already scoped by the caller (e.g. `operator:credits:<Idempotency-Key>`). */
  idempotencyKey: string;
}

function creditTransfer(
  grant: CreditGrant,
  kind: "credit_grant" | "signup_credit",
  at?: number,
): TransferInput {
  return {
    debit: CREDITS_ISSUER,
    credit: userAccount(grant.accountId),
    amountMicros: grant.amountMicros,
    kind,
    idempotencyKey: grant.idempotencyKey,
    accountId: grant.accountId,
    memo: grant.memo ?? null,
    at,
  };
}

/** Operator-granted credit from the issuer to an existing account (404 `account_not_found` otherwise). */
export async function grantCredit(db: LedgerDb, grant: CreditGrant): Promise<PostedTransfer> {
  const account = await db
    .select({ id: accounts.id })
    .from(accounts)
    .where(eq(accounts.id, grant.accountId))
    .get();
  if (!account)
    throw new MeridianError(404, "account_not_found", `no account ${grant.accountId.slice(0, 64)}`);
  return postTransfer(db, creditTransfer(grant, "credit_grant"));
}

/**
 * The sign-up grant (env `SIGNUP_CREDIT_USD`, default 5.00) as statements to join the sign-up batch,
 * so an account and its grant commit together; none when the grant is 0. Keyed `signup:<accountId>`:
 * at most one grant per account.
 */
export function signupCreditStatements(
  db: LedgerDb,
  env: object,
  accountId: string,
  at = Date.now(),
): LedgerStatement[] {
  const amountMicros = ledgerConfig(env).signupCreditMicros;
  if (amountMicros <= 0) return [];
  const grant = { accountId, amountMicros, memo: "sign-up credit", idempotencyKey: `signup:${accountId}` };
  return transferStatements(db, creditTransfer(grant, "signup_credit", at));
}

/** Grants the sign-up credit in its own batch (idempotent); null when the grant is configured to 0. */
export async function grantSignupCredit(
  db: LedgerDb,
  env: object,
  accountId: string,
): Promise<PostedTransfer | null> {
  const amountMicros = ledgerConfig(env).signupCreditMicros;
  if (amountMicros <= 0) return null;
  const grant = { accountId, amountMicros, memo: "sign-up credit", idempotencyKey: `signup:${accountId}` };
  return postTransfer(db, creditTransfer(grant, "signup_credit"));
}

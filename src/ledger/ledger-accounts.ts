import { type LedgerAccountKind, ledgerAccounts } from "../../schema/ledger.js";
import type { LedgerDb, LedgerStatement } from "./ledger-db.js";

/** A ledger account named by what it is for; its id is deterministic, so any batch can create it. */
export interface LedgerAccountRef {
  id: string;
  kind: LedgerAccountKind;
  accountId: string | null;
  ownerId: string | null;
}

export function userAccount(accountId: string): LedgerAccountRef {
  return { id: `user:${accountId}`, kind: "user", accountId, ownerId: accountId };
}

/** One hold per job: what the job may still spend, reserved from its account's balance. */
export function holdAccount(accountId: string, jobId: string): LedgerAccountRef {
  return { id: `hold:${jobId}`, kind: "hold", accountId, ownerId: jobId };
}

/** One earnings account per node: accrued and not yet paid out (pending). */
export function earningsAccount(nodeId: string): LedgerAccountRef {
  return { id: `earnings:${nodeId}`, kind: "earnings", accountId: null, ownerId: nodeId };
}

function system(kind: LedgerAccountKind): LedgerAccountRef {
  return { id: kind, kind, accountId: null, ownerId: null };
}

export const PLATFORM_FEES = system("fees");
export const BURN_RESERVE = system("burn");
/** Source of operator-granted credits; its negative balance is the total ever granted. */
export const CREDITS_ISSUER = system("issuer");
/** Source of on-chain deposits (the Solana issue); its negative balance is the total deposited. */
export const TOPUP_SOURCE = system("topup_source");
/** Where paid-out provider earnings go; its balance is the total paid out. */
export const PAYOUTS = system("payouts");
/** Where the burn reserve's µUSD goes once it has bought MRD that is burned; its balance is the total. */
export const BURNED = system("burned");

/** Creates the account if it is missing; harmless in any batch, any number of times. */
export function ensureAccount(db: LedgerDb, ref: LedgerAccountRef, at: number): LedgerStatement {
  return db
    .insert(ledgerAccounts)
    .values({ id: ref.id, kind: ref.kind, accountId: ref.accountId, ownerId: ref.ownerId, createdAt: at })
    .onConflictDoNothing();
}

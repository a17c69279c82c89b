import type { LedgerTransferRow } from "../../schema/ledger.js";
import type { LedgerEntryView } from "../shared/ledger-api.js";
import { formatUsd } from "../shared/money.js";
import { userAccount } from "./ledger-accounts.js";

export function ledgerEntryView(row: LedgerTransferRow, accountId: string): LedgerEntryView {
  const own = userAccount(accountId).id;
  const effect =
    row.creditAccountId === own ? row.amountMicros : row.debitAccountId === own ? -row.amountMicros : 0;
  return {
    id: row.id,
    kind: row.kind,
    from: row.debitAccountId,
    to: row.creditAccountId,
    amount: formatUsd(row.amountMicros),
    amountMicros: row.amountMicros,
    balanceEffect: formatUsd(effect),
    balanceEffectMicros: effect,
    jobId: row.jobId,
    attemptId: row.attemptId,
    memo: row.memo,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

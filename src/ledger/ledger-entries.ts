import { and, desc, eq, lt } from "drizzle-orm";
import { type LedgerTransferRow, ledgerTransfers } from "../../schema/ledger.js";
import type { LedgerDb } from "./ledger-db.js";

/** A page of the transfers an account's ledger shows, newest first; `cursor` is the last id of the previous page. */
export async function ledgerEntries(
  db: LedgerDb,
  accountId: string,
  page: { limit: number; cursor?: string },
): Promise<{ rows: LedgerTransferRow[]; nextCursor: string | null }> {
  const conditions = [eq(ledgerTransfers.accountId, accountId)];
  if (page.cursor) conditions.push(lt(ledgerTransfers.id, page.cursor));
  const rows = await db
    .select()
    .from(ledgerTransfers)
    .where(and(...conditions))
    .orderBy(desc(ledgerTransfers.id))
    .limit(page.limit + 1)
    .all();
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return { rows: shown, nextCursor: rows.length > page.limit && last ? last.id : null };
}

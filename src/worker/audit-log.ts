import { and, desc, eq, lt } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { auditEvents } from "../../schema/audit.js";
import type { AuditAction, AuditEventView } from "../shared/audit.js";
import { newId } from "../shared/ids.js";

export interface AuditEntry {
  accountId: string;
  action: AuditAction;
  subject?: string | null;
  keyId?: string | null;
  address?: string | null;
  details?: Record<string, unknown>;
  now?: number;
}

/**
 * The insert that records one action, to go in the same `db.batch()` as the action itself so the
 * record exists exactly when the action happened.
 */
export function auditStatement(db: DrizzleD1Database, entry: AuditEntry) {
  const now = entry.now ?? Date.now();
  return db.insert(auditEvents).values({
    id: newId("aud", now),
    accountId: entry.accountId,
    at: now,
    action: entry.action,
    subject: entry.subject ?? null,
    keyId: entry.keyId ?? null,
    address: entry.address ?? null,
    details: JSON.stringify(entry.details ?? {}),
  });
}

/** The account's events, newest first, after `cursor` (the last id of the previous page). */
export async function auditPage(
  db: DrizzleD1Database,
  accountId: string,
  limit: number,
  cursor: string | undefined,
): Promise<{ events: AuditEventView[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(
      cursor === undefined
        ? eq(auditEvents.accountId, accountId)
        : and(eq(auditEvents.accountId, accountId), lt(auditEvents.id, cursor)),
    )
    .orderBy(desc(auditEvents.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    events: page.map((row) => ({
      id: row.id,
      at: new Date(row.at).toISOString(),
      action: row.action as AuditAction,
      subject: row.subject,
      keyId: row.keyId,
      address: row.address,
      details: JSON.parse(row.details) as Record<string, unknown>,
    })),
    nextCursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}

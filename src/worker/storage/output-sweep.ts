import { and, eq, inArray, isNotNull, lte, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobOutputs } from "../../../schema/storage.js";
import { jobs } from "../../../schema/tables.js";
import { runBatch } from "../../ledger/ledger-db.js";
import {
  STORAGE_MONTH_MS,
  type StorageCharge,
  storageChargeStatements,
} from "../../ledger/storage-charge.js";
import { outputRetentionOf } from "../../shared/storage/output-retention.js";
import type { StoredObject } from "./object-target.js";
import { notBackingOff, sweepDone, sweepFailed } from "./sweep-backoff.js";

const BYTES_PER_GB = 1_000_000_000n;
/** Keys per R2 delete call (the binding's limit). */
const KEYS_PER_DELETE = 1000;

/** One job's files that expire at one moment: deleted together and charged as one transfer. */
interface ExpiredGroup {
  jobId: string;
  accountId: string;
  expiresAt: number;
}

/**
 * What keeping the files cost, each from its upload to the group's expiry, at a GB-month price:
 * Σ bytes × time, rounded up once to the µUSD (not once per file).
 */
export function outputChargeMicros(
  files: readonly { size: number; createdAt: number }[],
  expiresAt: number,
  microsPerGbMonth: number,
): number {
  let byteMs = 0n;
  for (const file of files) {
    const ms = Math.max(0, expiresAt - file.createdAt);
    byteMs += BigInt(Math.round(file.size)) * BigInt(Math.round(ms));
  }
  if (byteMs === 0n || microsPerGbMonth <= 0) return 0;
  const denominator = BYTES_PER_GB * BigInt(STORAGE_MONTH_MS);
  return Number((byteMs * BigInt(microsPerGbMonth) + denominator - 1n) / denominator);
}

/**
 * R2 keys no other listed output still names: a key two jobs wrote (the same `r2://` path) or an
 * IPFS CID two outputs share stays while any row `doomed` does not claim lists it; that row keeps
 * and bills it.
 */
export async function unsharedKeys(
  env: Env,
  keys: readonly string[],
  doomed: (row: { jobId: string; path: string }) => boolean,
): Promise<string[]> {
  const unique = [...new Set(keys)];
  const shared = new Set<string>();
  for (let i = 0; i < unique.length; i += 50) {
    const slice = unique.slice(i, i + 50);
    const { results } = await env.DB.prepare(
      `SELECT job_id AS jobId, path, json_extract(location, '$.key') AS key FROM job_outputs
       WHERE json_extract(location, '$.kind') = 'r2' AND json_extract(location, '$.key') IN (${slice.map(() => "?").join(",")})`,
    )
      .bind(...slice)
      .all<{ jobId: string; path: string; key: string }>();
    for (const row of results) if (!doomed(row)) shared.add(row.key);
  }
  return unique.filter((key) => !shared.has(key));
}

/** Deletes R2 keys, as many per call as the binding takes. */
export async function deleteR2Keys(env: Env, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += KEYS_PER_DELETE)
    await env.STORAGE.delete(keys.slice(i, i + KEYS_PER_DELETE));
}

/** Deletes one group's files from R2, then in one D1 batch charges the time kept and drops the rows. */
async function sweepGroup(
  env: Env,
  group: ExpiredGroup,
  now: number,
): Promise<{ files: number; charged: number }> {
  const db = drizzle(env.DB);
  const where = and(eq(jobOutputs.jobId, group.jobId), eq(jobOutputs.expiresAt, group.expiresAt));
  const rows = await db
    .select({
      path: jobOutputs.path,
      size: jobOutputs.size,
      createdAt: jobOutputs.createdAt,
      location: jobOutputs.location,
    })
    .from(jobOutputs)
    .where(where)
    .all();
  if (rows.length === 0) return { files: 0, charged: 0 };
  const keys = rows.flatMap((row) => {
    const stored = row.location as StoredObject;
    return stored.kind === "r2" ? [stored.key] : [];
  });
  const paths = new Set(rows.map((row) => row.path));
  await deleteR2Keys(
    env,
    await unsharedKeys(env, keys, (row) => row.jobId === group.jobId && paths.has(row.path)),
  );
  const { microsPerGbMonth } = outputRetentionOf(env);
  const fromMs = Math.min(...rows.map((row) => row.createdAt));
  const charge: StorageCharge = {
    accountId: group.accountId,
    jobId: group.jobId,
    key: `storage:${group.jobId}:outputs:${group.expiresAt}`,
    bytes: rows.reduce((sum, row) => sum + row.size, 0),
    fromMs,
    toMs: group.expiresAt,
    amountMicros: outputChargeMicros(rows, group.expiresAt, microsPerGbMonth),
    what: "output",
  };
  await runBatch(db, [
    ...(charge.amountMicros > 0 ? storageChargeStatements(db, charge, now) : []),
    db.delete(jobOutputs).where(
      and(
        where,
        inArray(
          jobOutputs.path,
          rows.map((row) => row.path),
        ),
      ),
    ),
  ]);
  return { files: rows.length, charged: charge.amountMicros };
}

/**
 * The cron's pass over output files past their keep (the output's keepForSeconds, or
 * OUTPUT_RETENTION_SECONDS, from their upload): deleted from the platform's R2 and charged for the
 * time kept, one ledger transfer per job and expiry. A group that fails waits out a backoff
 * (sweep-backoff.ts) so it never holds up the rest. Files in the user's own bucket never expire here.
 */
export async function sweepExpiredOutputs(
  env: Env,
  now = Date.now(),
  limit = 20,
): Promise<{ groups: number; files: number; failed: number }> {
  const db = drizzle(env.DB);
  const itemId = sql`${jobOutputs.jobId} || '@' || ${jobOutputs.expiresAt}`;
  const due = await db
    .selectDistinct({ jobId: jobOutputs.jobId, accountId: jobs.accountId, expiresAt: jobOutputs.expiresAt })
    .from(jobOutputs)
    .innerJoin(jobs, eq(jobs.id, jobOutputs.jobId))
    .where(
      and(
        isNotNull(jobOutputs.expiresAt),
        lte(jobOutputs.expiresAt, now),
        notBackingOff("outputs", itemId, now),
      ),
    )
    .limit(limit)
    .all();
  let files = 0;
  let groups = 0;
  let failed = 0;
  for (const row of due) {
    if (row.expiresAt === null) continue;
    const group = { jobId: row.jobId, accountId: row.accountId, expiresAt: row.expiresAt };
    const id = `${group.jobId}@${group.expiresAt}`;
    try {
      files += (await sweepGroup(env, group, now)).files;
      groups++;
      await sweepDone(env, "outputs", id);
    } catch (error) {
      failed++;
      await sweepFailed(env, "outputs", id, error, now);
    }
  }
  return { groups, files, failed };
}

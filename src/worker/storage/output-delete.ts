import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobOutputs } from "../../../schema/storage.js";
import { type LedgerStatement, runBatch } from "../../ledger/ledger-db.js";
import { type StorageCharge, storageChargeStatements } from "../../ledger/storage-charge.js";
import type { OutputsDeleted } from "../../shared/storage/output-delete-api.js";
import { outputRetentionOf } from "../../shared/storage/output-retention.js";
import type { StoredObject } from "./object-target.js";
import { deleteS3Outputs, type S3OutputRow } from "./output-s3-delete.js";
import { deleteR2Keys, outputChargeMicros, unsharedKeys } from "./output-sweep.js";

/** A listed output file, as deleting or replacing it needs it. */
export interface OutputRow {
  path: string;
  size: number;
  createdAt: number;
  location: unknown;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The charge for keeping `rows` (those in the platform's R2) from each one's upload until `until`,
 * keyed by the files themselves (job, path, upload time), so two deletes racing over the same
 * files charge them once.
 */
export async function keptCharge(
  env: Env,
  accountId: string,
  jobId: string,
  rows: readonly OutputRow[],
  until: number,
): Promise<StorageCharge | undefined> {
  const billed = rows.filter((row) => (row.location as StoredObject).kind === "r2");
  if (billed.length === 0) return undefined;
  const ids = billed.map((row) => `${row.path}@${row.createdAt}`).sort();
  return {
    accountId,
    jobId,
    key: `storage:${jobId}:outputs:kept:${await sha256Hex(ids.join("\n"))}`,
    bytes: billed.reduce((sum, row) => sum + row.size, 0),
    fromMs: Math.min(...billed.map((row) => row.createdAt)),
    toMs: until,
    amountMicros: outputChargeMicros(billed, until, outputRetentionOf(env).microsPerGbMonth),
    what: "output",
  };
}

/**
 * Deletes a job's output files now (all, or the one at `path`): the platform-stored objects no
 * other output names are deleted from R2, the time each was kept is charged (billing stops here,
 * not at its expiry), and the rows go in the same batch as the charge and `extra` (the audit
 * record). Files in the user's own S3 bucket are deleted there too, with the credentials secret their
 * output named (a missing secret or a refusing bucket is the caller's 422, nothing changed), except
 * objects another listed output still names. Deleting nothing is no error.
 */
export async function deleteOutputs(
  env: Env,
  job: { jobId: string; accountId: string },
  path: string | undefined,
  now: number,
  extra: (deleted: OutputsDeleted) => LedgerStatement[],
): Promise<OutputsDeleted> {
  const db = drizzle(env.DB);
  const where =
    path === undefined
      ? eq(jobOutputs.jobId, job.jobId)
      : and(eq(jobOutputs.jobId, job.jobId), eq(jobOutputs.path, path));
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
  const empty: OutputsDeleted = {
    jobId: job.jobId,
    files: 0,
    bytes: 0,
    objects: 0,
    deletedInYourBucket: 0,
    keptInYourBucket: 0,
    chargedMicros: 0,
  };
  if (rows.length === 0) return empty;
  const inBucket: S3OutputRow[] = rows.flatMap((row) => {
    const stored = row.location as StoredObject;
    return stored.kind === "s3" ? [{ jobId: job.jobId, path: row.path, location: stored }] : [];
  });
  // The user's bucket first: it is what may refuse (credentials gone or revoked), and then nothing changed.
  const bucket = await deleteS3Outputs(env, job.accountId, inBucket);
  const keys = rows.flatMap((row) => {
    const stored = row.location as StoredObject;
    return stored.kind === "r2" ? [stored.key] : [];
  });
  const paths = new Set(rows.map((row) => row.path));
  const doomed = await unsharedKeys(env, keys, (row) => row.jobId === job.jobId && paths.has(row.path));
  // Objects first: a failure here leaves the rows listed (and billed), so a retry finds them.
  await deleteR2Keys(env, doomed);
  const charge = await keptCharge(env, job.accountId, job.jobId, rows, now);
  const deleted: OutputsDeleted = {
    ...empty,
    files: rows.length,
    bytes: rows.reduce((sum, row) => sum + row.size, 0),
    objects: doomed.length,
    deletedInYourBucket: bucket.deleted,
    keptInYourBucket: bucket.kept,
    chargedMicros: charge?.amountMicros ?? 0,
  };
  const rowsGone = rows.map((row) =>
    db
      .delete(jobOutputs)
      .where(
        and(
          eq(jobOutputs.jobId, job.jobId),
          eq(jobOutputs.path, row.path),
          eq(jobOutputs.createdAt, row.createdAt),
        ),
      ),
  );
  await runBatch(db, [
    ...(charge && charge.amountMicros > 0 ? storageChargeStatements(db, charge, now) : []),
    ...rowsGone,
    ...extra(deleted),
  ]);
  return deleted;
}

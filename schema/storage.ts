import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Records of the storage parts: secrets (envelope-encrypted), the files a job output, its
 * committed checkpoints and the index of its log chunks. The bytes themselves live in object
 * storage; D1 holds what finds and checks them.
 */

/** One secret: its value sealed under a per-value data key, the data key sealed under the Worker's key. */
export const secrets = sqliteTable(
  "secrets",
  {
    accountId: text("account_id").notNull(),
    name: text("name").notNull(),
    /** base64 of AES-GCM(data key, iv, value), additional data the account and name. */
    ciphertext: text("ciphertext").notNull(),
    iv: text("iv").notNull(),
    /** base64 of AES-GCM(key-encryption key, wrapIv, data key). */
    wrappedKey: text("wrapped_key").notNull(),
    wrapIv: text("wrap_iv").notNull(),
    /** Which key-encryption key sealed it, so the Worker's key can be rotated. */
    keyVersion: integer("key_version").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.name] })],
);

/** A file a job's attempt uploaded from one of its output folders. */
export const jobOutputs = sqliteTable(
  "job_outputs",
  {
    jobId: text("job_id").notNull(),
    attemptId: text("attempt_id").notNull(),
    /** The file's path in the container (under the output folder). */
    path: text("path").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    cid: text("cid"),
    /** Where the bytes are: the StoredObject as JSON. */
    location: text("location", { mode: "json" }).notNull(),
    createdAt: integer("created_at").notNull(),
    /**
     * When the cron sweep deletes the file (its upload plus the output's keep), billed until then;
     * null for a file in the user's own S3 bucket (kept, and billed, by their provider).
     */
    expiresAt: integer("expires_at"),
  },
  (t) => [
    uniqueIndex("job_outputs_job_path").on(t.jobId, t.path),
    index("job_outputs_expires").on(t.expiresAt),
  ],
);

/** A committed checkpoint: its manifest object was written before this row, so the row means complete. */
export const jobCheckpoints = sqliteTable(
  "job_checkpoints",
  {
    jobId: text("job_id").notNull(),
    seq: integer("seq").notNull(),
    attemptId: text("attempt_id").notNull(),
    manifestKey: text("manifest_key").notNull(),
    files: integer("files").notNull(),
    bytes: integer("bytes").notNull(),
    /** The manifest object's own size (billed with the blobs); 0 for checkpoints from before migration 0031. */
    manifestBytes: integer("manifest_bytes").notNull().default(0),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.seq] })],
);

/**
 * A job whose checkpoint store may hold objects no commit recorded: blob URLs were handed out (a
 * sync that died before its commit leaves its blobs behind) or a manifest was written. The cron
 * looks under the job's prefix once `dueAt` comes and deletes what stayed unrecorded past the
 * grace (checkpoint-orphans.ts); the row goes when nothing is left to wait for.
 */
export const checkpointOrphanChecks = sqliteTable(
  "checkpoint_orphan_checks",
  {
    jobId: text("job_id").notNull(),
    /** When the cron looks next: the earliest moment an unrecorded object may be past the grace. */
    dueAt: integer("due_at").notNull(),
    /** The latest time URLs were handed out (or a manifest written) for the job's checkpoint. */
    offeredAt: integer("offered_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId] }), index("checkpoint_orphan_checks_due").on(t.dueAt)],
);

/**
 * One distinct blob a job's checkpoints hold (content-addressed, so checkpoints share unchanged
 * files): what the job's stored checkpoint bytes are, and so what is billed. A row is written
 * at a commit, before the checkpoint's own row, for each blob it names; it goes with the
 * job's checkpoints.
 */
export const jobCheckpointBlobs = sqliteTable(
  "job_checkpoint_blobs",
  {
    jobId: text("job_id").notNull(),
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.sha256] })],
);

/** One chunk object of an attempt's output in R2: D1 keeps only where it is and what it covers. */
export const logChunks = sqliteTable(
  "log_chunks",
  {
    jobId: text("job_id").notNull(),
    attemptId: text("attempt_id").notNull(),
    seq: integer("seq").notNull(),
    key: text("key").notNull(),
    bytes: integer("bytes").notNull(),
    /** Of `bytes`, how many are each stream's: where a re-attached agent resumes each. */
    stdoutBytes: integer("stdout_bytes").notNull().default(0),
    stderrBytes: integer("stderr_bytes").notNull().default(0),
    firstAt: integer("first_at").notNull(),
    lastAt: integer("last_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.attemptId, t.seq] }), index("log_chunks_job").on(t.jobId, t.createdAt)],
);

/**
 * A multipart upload the Worker started (a checkpoint blob or an output file) and not yet completed.
 * Its row goes when it completes; one left behind (the agent died, the job ended) is aborted by the
 * cron sweep once no part URL of it can still be valid, so its parts stop taking space.
 */
export const storageUploads = sqliteTable(
  "storage_uploads",
  {
    uploadId: text("upload_id").notNull(),
    /** Where the object goes: the StoredObject as JSON (an S3 one names the credentials secret). */
    location: text("location", { mode: "json" }).notNull(),
    accountId: text("account_id").notNull(),
    jobId: text("job_id").notNull(),
    createdAt: integer("created_at").notNull(),
    /**
     * When part URLs were last issued for it (at the start, and each time the agent asked for fresh
     * ones): the sweep aborts it only once the newest of them has expired.
     */
    urlsIssuedAt: integer("urls_issued_at").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.uploadId] }),
    index("storage_uploads_created").on(t.createdAt),
    index("storage_uploads_issued").on(t.urlsIssuedAt),
  ],
);

export type SecretRow = typeof secrets.$inferSelect;
export type JobOutputRow = typeof jobOutputs.$inferSelect;
export type LogChunkRow = typeof logChunks.$inferSelect;

/**
 * An item a storage sweep failed on (a job's checkpoints, an open upload): how often, and when it
 * may be tried again. The sweeps pass over items waiting out their backoff, so a few that keep
 * failing never take a whole batch; the row goes once the item is done.
 */
export const storageSweepFailures = sqliteTable(
  "storage_sweep_failures",
  {
    /**
     * "checkpoints" (id: the job), "upload" (id: the upload id), "outputs" (id: `<job>@<expiresAt>`)
     * or "orphans" (id: the job whose unrecorded checkpoint objects are being looked at).
     */
    kind: text("kind").notNull(),
    itemId: text("item_id").notNull(),
    attempts: integer("attempts").notNull(),
    retryAt: integer("retry_at").notNull(),
    lastError: text("last_error").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.itemId] })],
);

import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Records in D1. Times are milliseconds since the epoch; money is integer µUSD. */

export const accounts = sqliteTable("accounts", {
  id: text("id").primaryKey(),
  name: text("name"),
  email: text("email"),
  createdAt: integer("created_at").notNull(),
});

/** API keys are stored only as a SHA-256 of their secret part; the id part locates the row. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    secretHash: text("secret_hash").notNull(),
    /** A label the owner gave it ("ci", "grafana"); null for the sign-up key. */
    name: text("name"),
    /** JSON array of KeyScope (src/shared/api-key-scopes.ts). */
    scopes: text("scopes").notNull().default('["full"]'),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    /** A session key's end (wallet sign-in, or a key created with an expiry); null for a key that lasts until revoked. */
    expiresAt: integer("expires_at"),
  },
  (t) => [index("api_keys_account").on(t.accountId)],
);

export const nodes = sqliteTable(
  "nodes",
  {
    id: text("id").primaryKey(),
    publicKey: text("public_key").notNull(),
    region: text("region").notNull(),
    /** The agent's HardwareReport as JSON. */
    hardware: text("hardware", { mode: "json" }).notNull(),
    gpuCount: integer("gpu_count").notNull(),
    pricePerGpuHourMicros: integer("price_per_gpu_hour_micros").notNull(),
    /** The provider's own price per vCPU-hour for CPU-only work; null when it asks the CPU table's rate. */
    pricePerVcpuHourMicros: integer("price_per_vcpu_hour_micros"),
    labels: text("labels", { mode: "json" }).notNull(),
    agentVersion: text("agent_version").notNull(),
    registeredAt: integer("registered_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("nodes_public_key").on(t.publicKey), index("nodes_region").on(t.region)],
);

export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    name: text("name").notNull(),
    region: text("region").notNull(),
    image: text("image").notNull(),
    /** The parsed JobSpec as JSON. */
    spec: text("spec", { mode: "json" }).notNull(),
    status: text("status").notNull(),
    reason: text("reason"),
    nodeId: text("node_id"),
    attemptId: text("attempt_id"),
    attempts: integer("attempts").notNull().default(0),
    exitCode: integer("exit_code"),
    createdAt: integer("created_at").notNull(),
    assignedAt: integer("assigned_at"),
    startedAt: integer("started_at"),
    endedAt: integer("ended_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("jobs_account_created").on(t.accountId, t.id)],
);

/** One row per state change of a job; (job, seq) is unique so a retried write records it once. */
export const jobEvents = sqliteTable(
  "job_events",
  {
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id),
    seq: integer("seq").notNull(),
    status: text("status").notNull(),
    reason: text("reason"),
    attemptId: text("attempt_id"),
    nodeId: text("node_id"),
    at: integer("at").notNull(),
  },
  (t) => [uniqueIndex("job_events_job_seq").on(t.jobId, t.seq)],
);

/** One row per attempt: the lease, its fencing number, and how it ended. */
export const jobAttempts = sqliteTable(
  "job_attempts",
  {
    id: text("id").primaryKey(),
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id),
    nodeId: text("node_id").notNull(),
    fencing: integer("fencing").notNull(),
    gpuUuids: text("gpu_uuids", { mode: "json" }).notNull(),
    pricePerGpuHourMicros: integer("price_per_gpu_hour_micros").notNull(),
    assignedAt: integer("assigned_at").notNull(),
    startedAt: integer("started_at"),
    endedAt: integer("ended_at"),
    exitCode: integer("exit_code"),
    outcome: text("outcome"),
    /** The container the agent said it started (its engine id), recorded on the region's clock. */
    containerId: text("container_id"),
    /** The content digest (`sha256:…`) of the image the agent ran; null when it did not say. */
    imageDigest: text("image_digest"),
    /**
     * With an error end, whose error the agent said it was (`AttemptReport`'s `errorKind`:
     * `image_pull`, `runtime`, …); null for other ends and for attempts recorded before it was.
     */
    errorKind: text("error_kind"),
    /**
     * When the refund sweep counted this attempt against its node (fault-evidence.ts): once per
     * attempt, charged or not, so a fault is never counted twice.
     */
    faultFoundAt: integer("fault_found_at"),
  },
  (t) => [index("job_attempts_job").on(t.jobId)],
);

/** Container output, one row per shipped batch and stream. */
export const jobLogs = sqliteTable(
  "job_logs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    jobId: text("job_id").notNull(),
    attemptId: text("attempt_id").notNull(),
    stream: text("stream").notNull(),
    data: text("data").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("job_logs_job").on(t.jobId, t.id)],
);

export type AccountRow = typeof accounts.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;
export type JobEventRow = typeof jobEvents.$inferSelect;
export type NodeRow = typeof nodes.$inferSelect;

/**
 * `Idempotency-Key`s of requests that create things (Stripe's convention): a retry with the same key
 * and body answers the first result; the same key with another body is refused.
 */
export const idempotencyKeys = sqliteTable("idempotency_keys", {
  /** The caller's account and route scope, then the key as sent. */
  scopedKey: text("scoped_key").primaryKey(),
  requestHash: text("request_hash").notNull(),
  resourceId: text("resource_id").notNull(),
  createdAt: integer("created_at").notNull(),
});

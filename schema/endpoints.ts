import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Inference endpoints, as the control plane lists them. The live state (replicas, autoscaler,
 * metrics, events) is in each endpoint's Durable Object; this row is what lists and ownership read.
 * A deleted endpoint keeps its row (deletedAt set) and frees its name.
 */
export const endpoints = sqliteTable(
  "endpoints",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    name: text("name").notNull(),
    /** The parsed EndpointSpec as JSON. */
    spec: text("spec", { mode: "json" }).notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    deletedAt: integer("deleted_at"),
    /** The name while live, null once deleted: unique per account among live endpoints. */
    liveName: text("live_name"),
  },
  (t) => [
    index("endpoints_account").on(t.accountId),
    uniqueIndex("endpoints_live_name").on(t.accountId, t.liveName),
  ],
);

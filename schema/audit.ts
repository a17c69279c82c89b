import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { accounts } from "./tables.js";

/**
 * What was done to an account's keys and money, by which key, from where. Rows are only ever
 * inserted, in the same batch as the action they record, so an action and its record stand or
 * fall together.
 */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    at: integer("at").notNull(),
    action: text("action").notNull(),
    subject: text("subject"),
    keyId: text("key_id"),
    address: text("address"),
    /** JSON object; never a secret. */
    details: text("details").notNull().default("{}"),
  },
  (t) => [index("audit_events_account").on(t.accountId, t.id)],
);

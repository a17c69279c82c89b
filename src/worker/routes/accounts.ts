import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { accounts, apiKeys } from "../../../schema/tables.js";
import { signupCreditStatements } from "../../ledger/credits.js";
import { ledgerConfig } from "../../ledger/ledger-config.js";
import { AccountCreated, CreateAccountRequest } from "../../shared/api.js";
import { newId } from "../../shared/ids.js";
import { issueApiKey } from "../api-keys.js";
import { auditStatement } from "../audit-log.js";
import type { AppEnv } from "../hono-env.js";
import { parseJsonText, parseOrThrow, readText } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { callerAddress } from "../rate-limits.js";

/** Open sign-up: an account and its first API key, which is shown this once and never again. */
export const accountRoutes = new Hono<AppEnv>().post(
  "/",
  doc({
    id: "createAccount",
    tag: "Accounts",
    summary: "Sign up",
    description: "Creates an account and its first API key. The key is shown in this answer only.",
    auth: "none",
    body: CreateAccountRequest,
    bodyExample: { name: "Ada", email: "ada@example.com" },
    response: {
      status: 201,
      schema: AccountCreated,
      example: { id: "acct_01jf7c3x0000000000000000000", apiKey: "mrd_key_01jf7c3x_s3cr3t" },
    },
  }),
  async (c) => {
    const text = await readText(c);
    const body = parseOrThrow(
      CreateAccountRequest,
      text.trim() === "" ? {} : parseJsonText(text),
      "request body",
    );
    const now = Date.now();
    const accountId = newId("acct", now);
    const key = await issueApiKey(newId("key", now));
    const db = drizzle(c.env.DB);
    await db.batch([
      db
        .insert(accounts)
        .values({ id: accountId, name: body.name ?? null, email: body.email ?? null, createdAt: now }),
      db.insert(apiKeys).values({ id: key.keyId, accountId, secretHash: key.secretHash, createdAt: now }),
      ...signupCreditStatements(db, c.env, accountId, now),
      auditStatement(db, {
        accountId,
        action: "account.created",
        subject: accountId,
        address: callerAddress(c.req),
        details: { keyId: key.keyId, signupCreditMicros: ledgerConfig(c.env).signupCreditMicros },
        now,
      }),
    ]);
    return c.json({ id: accountId, apiKey: key.apiKey }, 201);
  },
);

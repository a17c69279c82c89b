import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { accounts, apiKeys } from "../../../schema/tables.js";
import { signupCreditStatements } from "../../ledger/credits.js";
import { ledgerConfig } from "../../ledger/ledger-config.js";
import { referrerOf } from "../../ledger/referral-codes.js";
import { referralConfig } from "../../ledger/referral-config.js";
import { referralStatement } from "../../ledger/referrals.js";
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
    description:
      "Creates an account and its first API key. The key is shown in this answer only. With another account's `referralCode`, that account earns a share of this one's fees for a while (an unknown code: 400 `unknown_referral_code`, nothing created).",
    auth: "none",
    body: CreateAccountRequest,
    bodyExample: { name: "Ada", email: "ada@example.com", referralCode: "7K3QX9M2TD" },
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
    // An unknown code is refused before anything is written.
    const referral = body.referralCode
      ? { code: body.referralCode, referrerAccountId: await referrerOf(db, body.referralCode) }
      : null;
    await db.batch([
      db
        .insert(accounts)
        .values({ id: accountId, name: body.name ?? null, email: body.email ?? null, createdAt: now }),
      db.insert(apiKeys).values({ id: key.keyId, accountId, secretHash: key.secretHash, createdAt: now }),
      ...signupCreditStatements(db, c.env, accountId, now),
      ...(referral
        ? [
            referralStatement(
              db,
              { ...referral, referredAccountId: accountId, config: referralConfig(c.env) },
              now,
            ),
          ]
        : []),
      auditStatement(db, {
        accountId,
        action: "account.created",
        subject: accountId,
        address: callerAddress(c.req),
        details: {
          keyId: key.keyId,
          signupCreditMicros: ledgerConfig(c.env).signupCreditMicros,
          referredBy: referral?.referrerAccountId ?? null,
        },
        now,
      }),
    ]);
    return c.json({ id: accountId, apiKey: key.apiKey }, 201);
  },
);

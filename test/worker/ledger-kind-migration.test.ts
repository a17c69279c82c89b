import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import {
  BURN_RESERVE,
  BURNED,
  CREDITS_ISSUER,
  earningsAccount,
  PLATFORM_FEES,
  userAccount,
} from "../../src/ledger/ledger-accounts.js";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { type TransferInput, transferStatements } from "../../src/ledger/transfer.js";

/** The first migration that rebuilds ledger_accounts (its kind CHECK gained `burned`). */
const REBUILD = "0015_burns_ledger_kind.sql";
const db = drizzle(env.DB);

async function schemaObjects(type: "table" | "trigger" | "index"): Promise<string[]> {
  const rows = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
  )
    .bind(type)
    .all<{ name: string }>();
  return rows.results.map((r) => r.name);
}

/** Back to an empty database: this file's D1 is its own, so the test can replay history on it. */
async function dropEverything(): Promise<void> {
  for (const table of await schemaObjects("table")) await env.DB.prepare(`DROP TABLE \`${table}\``).run();
}

async function transfer(input: Omit<TransferInput, "idempotencyKey">, key: string): Promise<void> {
  await runBatch(db, transferStatements(db, { ...input, idempotencyKey: key }));
}

async function accounts(): Promise<unknown[]> {
  return (await env.DB.prepare("SELECT * FROM ledger_accounts ORDER BY id").all()).results;
}

function insertAccount(id: string, kind: string) {
  return env.DB.prepare(
    "INSERT INTO ledger_accounts (id, kind, account_id, owner_id, balance_micros, created_at) VALUES (?, ?, NULL, NULL, 0, 1)",
  )
    .bind(id, kind)
    .run();
}

describe("migration 0015: ledger_accounts rebuilt for the `burned` kind", () => {
  it("keeps every account, balance, transfer and guard, and admits `burned`", async () => {
    await dropEverything();
    const before = env.TEST_MIGRATIONS.filter((m) => m.name < REBUILD);
    expect(before.length).toBeGreaterThan(10);
    await applyD1Migrations(env.DB, before);

    // A ledger with history: credits, fees, a burn reserve and a node's earnings.
    const at = Date.now();
    await transfer(
      {
        debit: CREDITS_ISSUER,
        credit: userAccount("acct_a"),
        amountMicros: 9_000_000,
        kind: "credit_grant",
        at,
      },
      "k1",
    );
    await transfer(
      { debit: userAccount("acct_a"), credit: PLATFORM_FEES, amountMicros: 700_000, kind: "settle_fee", at },
      "k2",
    );
    await transfer(
      { debit: userAccount("acct_a"), credit: BURN_RESERVE, amountMicros: 300_000, kind: "settle_burn", at },
      "k3",
    );
    await transfer(
      {
        debit: userAccount("acct_a"),
        credit: earningsAccount("node_x"),
        amountMicros: 5_000_000,
        kind: "settle_provider",
        at,
      },
      "k4",
    );
    await expect(insertAccount("burned", "burned")).rejects.toThrow(/CHECK constraint/);
    const accountsBefore = await accounts();
    const transfersBefore = (await env.DB.prepare("SELECT * FROM ledger_transfers ORDER BY id").all())
      .results;
    const triggersBefore = await schemaObjects("trigger");
    const indexesBefore = await schemaObjects("index");
    expect(accountsBefore).toHaveLength(5);

    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

    expect(await accounts()).toEqual(accountsBefore);
    expect((await env.DB.prepare("SELECT * FROM ledger_transfers ORDER BY id").all()).results).toEqual(
      transfersBefore,
    );
    expect(await schemaObjects("trigger")).toEqual(triggersBefore);
    // Every index is kept (the migrations after 0015, applied here too, add their own).
    expect((await schemaObjects("index")).filter((i) => indexesBefore.includes(i))).toEqual(indexesBefore);
    expect((await env.DB.prepare("PRAGMA foreign_key_check").all()).results).toEqual([]);
    expect(await schemaObjects("table")).not.toContain("__ledger_accounts_copy");

    // The guards still hold on the rebuilt table: transfers move balances, overdrafts and deletes
    // are refused, an account's identity is fixed, unknown kinds are refused.
    await transfer(
      { debit: BURN_RESERVE, credit: BURNED, amountMicros: 300_000, kind: "burn_buyback", at },
      "k5",
    );
    const balances = await env.DB.prepare(
      "SELECT id, balance_micros AS b FROM ledger_accounts WHERE id IN ('burn', 'burned') ORDER BY id",
    ).all<{ id: string; b: number }>();
    expect(balances.results).toEqual([
      { id: "burn", b: 0 },
      { id: "burned", b: 300_000 },
    ]);
    await expect(
      transfer(
        {
          debit: userAccount("acct_a"),
          credit: PLATFORM_FEES,
          amountMicros: 3_000_001,
          kind: "settle_fee",
          at,
        },
        "k6",
      ),
    ).rejects.toThrow(/ledger_accounts_no_overdraft|CHECK constraint/);
    await expect(env.DB.prepare("DELETE FROM ledger_accounts WHERE id = 'fees'").run()).rejects.toThrow(
      /ledger_append_only/,
    );
    await expect(
      env.DB.prepare("UPDATE ledger_accounts SET kind = 'user' WHERE id = 'fees'").run(),
    ).rejects.toThrow(/ledger_append_only/);
    await expect(insertAccount("other", "other")).rejects.toThrow(/CHECK constraint/);
    await expect(
      env.DB.prepare(
        "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount_micros, kind, idempotency_key, request_hash, created_at) VALUES ('tx_z', 'fees', 'nowhere', 1, 'x', 'k7', 'h', 1)",
      ).run(),
    ).rejects.toThrow(/ledger_unknown_account/);
    const user = await env.DB.prepare(
      "SELECT balance_micros AS b FROM ledger_accounts WHERE id = 'user:acct_a'",
    ).first<{
      b: number;
    }>();
    expect(user?.b).toBe(3_000_000);
  });
});

import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import type { LedgerDb } from "../../src/ledger/ledger-db.js";
import { call, jsonInit } from "./support.js";

export function ledgerDb(): LedgerDb {
  return drizzle(env.DB);
}

/** The operator token the vitest config binds (miniflare bindings: OPERATOR_TOKEN). */
export function operatorToken(): string {
  const token = (env as { OPERATOR_TOKEN?: unknown }).OPERATOR_TOKEN;
  if (typeof token !== "string" || token === "") {
    throw new Error(
      "bind OPERATOR_TOKEN in vitest.workers.config.ts (miniflare.bindings) to run the ledger tests",
    );
  }
  return token;
}

export function grant(body: unknown, key?: string, token = operatorToken()): Promise<Response> {
  const init = jsonInit("POST", body, token);
  if (key !== undefined) (init.headers as Record<string, string>)["idempotency-key"] = key;
  return call("/v1/credits", init);
}

/** Every ledger account's balance, by id. */
export async function balances(): Promise<Map<string, number>> {
  const rows = await env.DB.prepare("SELECT id, balance_micros FROM ledger_accounts").all<{
    id: string;
    balance_micros: number;
  }>();
  return new Map(rows.results.map((row) => [row.id, row.balance_micros]));
}

export async function balanceOfAccount(id: string): Promise<number> {
  return (await balances()).get(id) ?? 0;
}

/** Sum over every ledger account: always exactly 0 in a double-entry ledger. */
export async function ledgerSum(): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT coalesce(sum(balance_micros), 0) AS total, count(*) AS n FROM ledger_accounts",
  ).first<{ total: number }>();
  return row?.total ?? 0;
}

/** A fake but well-formed id with the given prefix, unique per call. */
let counter = 0;
export function fakeId(prefix: "acct" | "job" | "att" | "node"): string {
  counter += 1;
  return `${prefix}_${String(counter).padStart(26, "0")}`;
}

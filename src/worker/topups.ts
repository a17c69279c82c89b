import { address, type Signature } from "@solana/kit";
import { and, asc, eq } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { type TopupPaymentRow, type TopupRow, topupPayments, topups } from "../../schema/chain.js";
import { MAX_TRANSFER_MICROS } from "../../schema/ledger.js";
import { type ChainConfig, chainConfig } from "../chain/chain-config.js";
import { type FetchedTransaction, judgePayment, type PaymentVerdict } from "../chain/payment-check.js";
import { signaturesNaming } from "../chain/reference-signatures.js";
import { SolanaClient } from "../chain/solana-client.js";
import { qrCodeSvg, transferRequestUrl } from "../chain/solana-pay.js";
import { fromBaseUnits, toBaseUnits } from "../chain/token-amount.js";
import { treasurySigner } from "../chain/treasury.js";
import { TOPUP_SOURCE, userAccount } from "../ledger/ledger-accounts.js";
import { runBatch } from "../ledger/ledger-db.js";
import { transferStatements } from "../ledger/transfer.js";
import { encodeBase58 } from "../shared/base58.js";
import type { TopupView } from "../shared/chain-api.js";
import { MeridianError } from "../shared/errors.js";
import { formatUsd } from "../shared/money.js";
import { auditStatement } from "./audit-log.js";

const DECIMALS = 6;
/**
 * Transactions a scan fetches at most. A deployed Worker may make only so many subrequests per
 * invocation (50 on the free plan, 1,000 on paid), and a reference anyone can name may gather many
 * transactions that are not payments: past the bound, the scan stops and the next one (a read, or
 * the minute cron) goes on from its cursor.
 */
export const MAX_FETCHES_PER_SCAN = 40;
const TOKEN_UNIT = 10n ** BigInt(DECIMALS);

function creditFor(token: "usdc" | "mrd", base: bigint, config: ChainConfig): number {
  // USDC has 6 decimals: one base unit is one µUSD. MRD converts at the configured rate per whole MRD.
  const micros = token === "usdc" ? base : (base * BigInt(config.mrdUsdMicros)) / TOKEN_UNIT;
  return Number(micros);
}

/** Where the control plane waits for a payment: `finalized`, or `confirmed` on the local chain. */
function requiredCommitment(env: object, config: ChainConfig): "confirmed" | "finalized" {
  const raw = (env as { TOPUP_COMMITMENT?: string }).TOPUP_COMMITMENT;
  if (raw === "confirmed" || raw === "finalized") return raw;
  return config.cluster === "local" ? "confirmed" : "finalized";
}

function requestUrl(row: TopupRow): string {
  return transferRequestUrl({
    recipient: row.recipient,
    amount: fromBaseUnits(BigInt(row.amountBase), DECIMALS),
    splToken: row.mint,
    reference: row.reference,
    label: "Meridian",
    message: `Top up your Meridian balance by ${formatUsd(row.creditMicros)} USD`,
    memo: row.id,
  });
}

export function topupView(row: TopupRow): TopupView {
  return {
    id: row.id,
    token: row.token,
    amount: fromBaseUnits(BigInt(row.amountBase), DECIMALS),
    credit: formatUsd(row.creditMicros),
    status: row.status,
    recipient: row.recipient,
    mint: row.mint,
    reference: row.reference,
    url: requestUrl(row),
    signature: row.signature,
    paid: row.paidBase === null ? null : fromBaseUnits(BigInt(row.paidBase), DECIMALS),
    note: row.note,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

export function topupQr(row: TopupRow): string {
  return qrCodeSvg(requestUrl(row));
}

/** A top-up request: a fresh reference key stored with the amount expected, paid to the treasury. */
export async function createTopup(
  db: DrizzleD1Database,
  env: object,
  accountId: string,
  body: { token: "usdc" | "mrd"; amount: string },
  now: number,
  by: { keyId?: string | null; address?: string | null } = {},
): Promise<TopupRow> {
  const config = chainConfig(env);
  const amountBase = toBaseUnits(body.amount, DECIMALS);
  const creditMicros = creditFor(body.token, amountBase, config);
  if (creditMicros <= 0) {
    throw new MeridianError(
      422,
      "invalid_amount",
      `${body.amount} ${body.token.toUpperCase()} is worth less than 1 µUSD`,
    );
  }
  if (creditMicros > 1_000_000_000_000) {
    throw new MeridianError(422, "invalid_amount", "a top-up is at most 1,000,000 USD");
  }
  const treasury = await treasurySigner(config);
  const row: TopupRow = {
    id: `top_${crypto.randomUUID().replaceAll("-", "")}`,
    accountId,
    token: body.token,
    mint: body.token === "usdc" ? config.usdcMint : config.mrdMint,
    recipient: treasury.address,
    reference: encodeBase58(crypto.getRandomValues(new Uint8Array(32))),
    amountBase: Number(amountBase),
    creditMicros,
    status: "pending",
    signature: null,
    paidBase: null,
    note: null,
    scannedThrough: null,
    createdAt: now,
    updatedAt: now,
  };
  await runBatch(db, [
    db.insert(topups).values(row),
    auditStatement(db, {
      accountId,
      action: "topup.created",
      subject: row.id,
      ...by,
      details: { token: row.token, amount: body.amount, creditMicros, reference: row.reference },
      now,
    }),
  ]);
  return row;
}

export async function topupOf(db: DrizzleD1Database, accountId: string, id: string): Promise<TopupRow> {
  const row = await db
    .select()
    .from(topups)
    .where(and(eq(topups.id, id), eq(topups.accountId, accountId)))
    .get();
  if (!row) throw new MeridianError(404, "topup_not_found", `no top-up ${id}`);
  return row;
}

async function fetchTransaction(
  client: SolanaClient,
  signature: Signature,
): Promise<FetchedTransaction | null> {
  const tx = (await client.rpc
    .getTransaction(signature, {
      commitment: "confirmed",
      encoding: "json",
      maxSupportedTransactionVersion: 0,
    })
    .send()) as unknown as {
    slot: bigint;
    meta: {
      err: unknown;
      preTokenBalances?: FetchedTransaction["preTokenBalances"];
      postTokenBalances?: FetchedTransaction["postTokenBalances"];
    } | null;
    transaction: { message: { accountKeys: string[] } };
  } | null;
  if (!tx?.meta) return null;
  return {
    slot: Number(tx.slot),
    err: tx.meta.err,
    accountKeys: tx.transaction.message.accountKeys,
    preTokenBalances: tx.meta.preTokenBalances ?? [],
    postTokenBalances: tx.meta.postTokenBalances ?? [],
  };
}

function isUniqueViolation(error: unknown): boolean {
  return /UNIQUE constraint failed: topup_payments/i.test(
    String(error) + String((error as { cause?: unknown }).cause ?? ""),
  );
}

/**
 * Records one payment to a top-up's reference once per signature: the payment row (primary key: the
 * signature) and its ledger credit go in one batch, so a signature seen again — by another request,
 * another top-up, a retry — fails the whole batch and moves nothing. Every payment in the right mint
 * is credited for all it paid (a second payment completing a short one, or one more than asked); a
 * payment in another mint is recorded and credits nothing.
 */
async function recordPayment(
  db: DrizzleD1Database,
  row: TopupRow,
  config: ChainConfig,
  signature: string,
  slot: number,
  verdict: Exclude<PaymentVerdict, { outcome: "not_ours" }>,
  now: number,
): Promise<void> {
  const credited =
    verdict.outcome === "wrong_mint"
      ? 0
      : Math.min(MAX_TRANSFER_MICROS, creditFor(row.token, verdict.paid, config));
  const outcome = verdict.outcome === "paid" ? "credited" : verdict.outcome;
  try {
    await runBatch(db, [
      db.insert(topupPayments).values({
        signature,
        topupId: row.id,
        accountId: row.accountId,
        mint: verdict.outcome === "wrong_mint" ? verdict.mint : row.mint,
        paidBase: Number(verdict.paid),
        creditedMicros: credited,
        outcome,
        slot,
        createdAt: now,
      }),
      ...(credited > 0
        ? transferStatements(db, {
            debit: TOPUP_SOURCE,
            credit: userAccount(row.accountId),
            amountMicros: credited,
            kind: "topup",
            idempotencyKey: `topup:${signature}`,
            accountId: row.accountId,
            memo: `top-up ${row.id} (${signature})`,
            at: now,
          })
        : []),
      // In the same batch: recorded exactly when the payment was settled, never for a signature
      // another settle already took (that batch fails whole). No key did it: the chain did. The
      // action names this payment's outcome; the top-up's state is summed from all its payments.
      auditStatement(db, {
        accountId: row.accountId,
        action: `topup.${outcome}` as const,
        subject: row.id,
        details: { signature, paidBase: Number(verdict.paid), creditedMicros: credited },
        now,
      }),
    ]);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
}

/**
 * A top-up's state from every payment recorded for it (oldest first): credited once the right
 * mint's payments together reach the amount, underpaid while they fall short, wrong_mint while only
 * other mints paid; the signature is the latest payment's, the note says what each kind came to.
 */
function summaryOf(row: TopupRow, payments: TopupPaymentRow[]): Partial<TopupRow> | null {
  const latest = payments.at(-1);
  if (!latest) return null;
  const right = payments.filter((p) => p.outcome !== "wrong_mint");
  const wrong = payments.filter((p) => p.outcome === "wrong_mint");
  const paid = right.reduce((sum, p) => sum + BigInt(p.paidBase), 0n);
  const credited = right.reduce((sum, p) => sum + p.creditedMicros, 0);
  const status = paid >= BigInt(row.amountBase) ? "credited" : paid > 0n ? "underpaid" : "wrong_mint";
  const count = (n: number) => (n === 1 ? "1 payment" : `${n} payments`);
  const notes: string[] = [];
  if (status === "underpaid")
    notes.push(
      `paid ${fromBaseUnits(paid, DECIMALS)} of ${fromBaseUnits(BigInt(row.amountBase), DECIMALS)} in ${count(right.length)}: credited ${formatUsd(credited)} USD for what was paid; a further payment to the same request is credited too`,
    );
  else if (status === "credited" && (right.length > 1 || paid > BigInt(row.amountBase)))
    notes.push(
      `paid ${fromBaseUnits(paid, DECIMALS)} of ${fromBaseUnits(BigInt(row.amountBase), DECIMALS)} in ${count(right.length)}: credited ${formatUsd(credited)} USD, all that was paid`,
    );
  if (wrong.length > 0)
    notes.push(
      `${count(wrong.length)} in mint ${wrong.map((p) => p.mint).join(", ")}, not ${row.mint}: nothing credited for ${wrong.length === 1 ? "it" : "them"}; contact support for a refund`,
    );
  return {
    status,
    signature: latest.signature,
    paidBase: Number(paid > 0n ? paid : BigInt(wrong.reduce((sum, p) => sum + p.paidBase, 0))),
    note: notes.length > 0 ? notes.join("; ") : null,
  };
}

/** Writes the top-up's state from its payments when it changed. */
async function summarize(db: DrizzleD1Database, row: TopupRow, now: number): Promise<void> {
  const payments = await db
    .select()
    .from(topupPayments)
    .where(eq(topupPayments.topupId, row.id))
    .orderBy(asc(topupPayments.slot), asc(topupPayments.createdAt))
    .all();
  const summary = summaryOf(row, payments);
  if (!summary) return;
  const same = (Object.keys(summary) as (keyof TopupRow)[]).every((key) => summary[key] === row[key]);
  if (!same)
    await db
      .update(topups)
      .set({ ...summary, updatedAt: now })
      .where(eq(topups.id, row.id));
}

/**
 * Judges one signature naming the reference and records it when it is a payment final enough to
 * credit. Whether it is done with: judged no payment, or recorded; not when its transaction is not
 * visible yet or the payment waits for `finalized`.
 */
async function settleCandidate(
  db: DrizzleD1Database,
  row: TopupRow,
  config: ChainConfig,
  commitment: "confirmed" | "finalized",
  entry: { signature: Signature; confirmationStatus: string | null },
  client: SolanaClient,
  now: number,
): Promise<boolean> {
  const tx = await fetchTransaction(client, entry.signature);
  if (!tx) return false;
  const verdict = judgePayment(tx, {
    recipient: row.recipient,
    mint: row.mint,
    reference: row.reference,
    amount: BigInt(row.amountBase),
  });
  if (verdict.outcome === "not_ours") return true;
  if (commitment === "finalized" && entry.confirmationStatus !== "finalized") {
    await db
      .update(topups)
      .set({ status: "confirmed", signature: entry.signature, updatedAt: now })
      .where(and(eq(topups.id, row.id), eq(topups.status, "pending")));
    return false;
  }
  await recordPayment(db, row, config, entry.signature, tx.slot, verdict, now);
  return true;
}

/**
 * Looks for payments on chain by the top-up's reference (every page of getSignaturesForAddress newer
 * than its cursor), validates each candidate as Solana Pay does, and records every one not yet
 * recorded: pending → confirmed → credited (or underpaid / wrong_mint), and on from underpaid or
 * wrong_mint when a further payment comes, so no payment to a reference is ever left uncounted. It
 * fetches at most `MAX_FETCHES_PER_SCAN` transactions and moves the cursor past what it settled, so a
 * reference crowded with other transactions is worked through across scans. Safe to run any number
 * of times, concurrently.
 */
export async function refreshTopup(
  db: DrizzleD1Database,
  env: object,
  row: TopupRow,
  now: number,
): Promise<TopupRow> {
  if (row.status === "failed") return row;
  const config = chainConfig(env);
  const client = new SolanaClient(config.rpcUrl);
  const commitment = requiredCommitment(env, config);
  const found = await signaturesNaming(
    client.rpc,
    address(row.reference),
    row.scannedThrough === null ? undefined : (row.scannedThrough as Signature),
  );
  const recorded = new Set(
    (
      await db
        .select({ signature: topupPayments.signature })
        .from(topupPayments)
        .where(eq(topupPayments.topupId, row.id))
        .all()
    ).map((p) => p.signature),
  );
  // The cursor moves over a run of the oldest signatures, each final on chain and done with: recorded,
  // failed, or judged no payment. Anything later than the first one still open is listed again.
  let cursor = row.scannedThrough;
  let contiguous = true;
  let fetches = 0;
  for (const entry of found) {
    let done = entry.err !== null || recorded.has(entry.signature);
    if (!done) {
      if (fetches >= MAX_FETCHES_PER_SCAN) break;
      fetches += 1;
      done = await settleCandidate(db, row, config, commitment, entry, client, now);
    }
    const final =
      entry.confirmationStatus === "finalized" ||
      (commitment === "confirmed" && entry.confirmationStatus === "confirmed");
    if (contiguous && done && final) cursor = entry.signature;
    else contiguous = false;
  }
  if (cursor !== row.scannedThrough)
    await db.update(topups).set({ scannedThrough: cursor }).where(eq(topups.id, row.id));
  await summarize(db, await topupOf(db, row.accountId, row.id), now);
  return topupOf(db, row.accountId, row.id);
}

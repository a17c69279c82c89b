import { env } from "cloudflare:workers";
import { type Address, address, type Signature } from "@solana/kit";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { type BurnStep, runBurns } from "../../src/chain/burns/burn-runner.js";
import { chainConfig } from "../../src/chain/chain-config.js";
import { MAX_SEND_REFUSALS } from "../../src/chain/sending/durable-send.js";
import { SolanaClient } from "../../src/chain/solana-client.js";
import { treasurySigner } from "../../src/chain/treasury.js";
import { BURN_RESERVE, CREDITS_ISSUER } from "../../src/ledger/ledger-accounts.js";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { transferStatements } from "../../src/ledger/transfer.js";
import { TokenStatsView } from "../../src/shared/token-api.js";
import { call, expectError } from "./support.js";

const OPERATOR = { authorization: "Bearer test-operator-token" };
const db = drizzle(env.DB);
const chain = new SolanaClient(env.SOLANA_RPC_URL);
const config = chainConfig(env);
const burnVault = address(env.BURN_VAULT);
/** MRD_USD_MICROS is unset in tests: 100,000 µUSD per MRD, so 1 µUSD buys 10 MRD base units. */
const RATE = config.mrdUsdMicros;

class Crash extends Error {}

let seeded = 0;
/** Puts `micros` into the ledger's burn reserve, as settlements' burn shares would. */
async function seedReserve(micros: number): Promise<void> {
  seeded += 1;
  await runBatch(
    db,
    transferStatements(db, {
      debit: CREDITS_ISSUER,
      credit: BURN_RESERVE,
      amountMicros: micros,
      kind: "credit_grant",
      idempotencyKey: `test-burn-reserve:${seeded}:${Date.now()}`,
    }),
  );
}

async function ledgerBalance(id: string): Promise<number> {
  const row = await env.DB.prepare("SELECT balance_micros AS b FROM ledger_accounts WHERE id = ?")
    .bind(id)
    .first<{ b: number }>();
  return row?.b ?? 0;
}

async function run(afterStep?: (step: BurnStep) => void, claim = true, vault: Address = burnVault) {
  return runBurns({
    db,
    chain,
    treasury: await treasurySigner(config),
    mrdMint: config.mrdMint,
    burnVault: vault,
    rateMicros: RATE,
    minMicros: 1_000_000,
    commitment: "confirmed",
    claim,
    now: Date.now,
    afterStep,
  });
}

/** The mint's supply read with plain JSON-RPC (jsonParsed), not through the project's code. */
async function supplyOnChain(): Promise<bigint> {
  const res = await fetch(env.SOLANA_RPC_URL, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "getAccountInfo",
      params: [config.mrdMint, { encoding: "jsonParsed", commitment: "confirmed" }],
    }),
  });
  const body = (await res.json()) as {
    result: { value: { data: { parsed: { info: { supply: string } } } } };
  };
  return BigInt(body.result.value.data.parsed.info.supply);
}

interface ParsedBurn {
  memos: string[];
  burned: bigint;
}

/** What a landed burn transaction did: its memos and the MRD its burnChecked destroyed. */
async function burnTransaction(signature: Signature): Promise<ParsedBurn> {
  const tx = await chain.rpc
    .getTransaction(signature, {
      commitment: "confirmed",
      encoding: "jsonParsed",
      maxSupportedTransactionVersion: 0,
    })
    .send();
  const out: ParsedBurn = { memos: [], burned: 0n };
  for (const ix of tx?.transaction.message.instructions ?? []) {
    if (!("parsed" in ix)) continue;
    if (ix.program === "spl-memo") out.memos.push(String(ix.parsed));
    const parsed = ix.parsed as { type?: string; info?: { tokenAmount?: { amount: string } } };
    if (ix.program === "spl-token" && parsed.type === "burnChecked")
      out.burned += BigInt(parsed.info?.tokenAmount?.amount ?? "0");
  }
  return out;
}

/** Landed burn transactions on the burn vault whose memo names `burnId`: one per burn, if exactly once holds. */
async function burnsOnChain(burnId: string): Promise<Signature[]> {
  const found = await chain.rpc
    .getSignaturesForAddress(burnVault as Address, { commitment: "confirmed" })
    .send();
  const mine: Signature[] = [];
  for (const entry of found) {
    if (entry.err !== null) continue;
    const { memos } = await burnTransaction(entry.signature);
    if (memos.some((memo) => memo.includes(burnId))) mine.push(entry.signature);
  }
  return mine;
}

async function burnRows(): Promise<
  { id: string; status: string; signature: string | null; mrd_base: number }[]
> {
  const rows = await env.DB.prepare(
    "SELECT id, status, signature, mrd_base FROM burns ORDER BY claimed_at",
  ).all<{
    id: string;
    status: string;
    signature: string | null;
    mrd_base: number;
  }>();
  return rows.results;
}

async function stats(): Promise<TokenStatsView> {
  const res = await call("/v1/token/stats");
  expect(res.status).toBe(200);
  return TokenStatsView.parse(await res.json());
}

describe("buy-back and burn", () => {
  it("spends the burn reserve on MRD and burns it on chain; the stats show it", async () => {
    const before = await stats();
    expect(BigInt(before.supply.base)).toBe(await supplyOnChain());
    expect(before.burned).toEqual({ mrd: "0", base: "0", micros: 0, burns: 0 });
    expect(before.lastBurn).toBeNull();

    await seedReserve(2_500_000); // $2.50 buys 25 MRD at $0.10
    const supplyBefore = await supplyOnChain();
    const res = await call("/v1/operator/burns/run", { method: "POST", headers: OPERATOR });
    expect(res.status).toBe(200);
    const ran = (await res.json()) as {
      claimed: number;
      burned: number;
      burnedMrdBase: number;
      pending: number;
    };
    expect(ran).toMatchObject({ claimed: 1, burned: 1, burnedMrdBase: 25_000_000, pending: 0 });

    const [row] = await burnRows();
    if (!row?.signature) throw new Error("no burn recorded");
    const landed = await burnTransaction(row.signature as Signature);
    expect(landed.burned).toBe(25_000_000n);
    expect(landed.memos.join(" ")).toContain(`meridian-burn-v1 ${row.id} 2500000 25000000`);
    // Other test files may move MRD meanwhile, but none burns from the burn vault: the supply fell
    // by at least this burn, and the vault holds nothing after it.
    expect(supplyBefore - (await supplyOnChain())).toBeGreaterThanOrEqual(25_000_000n);
    const vault = await chain.rpc.getTokenAccountBalance(burnVault, { commitment: "confirmed" }).send();
    expect(vault.value.amount).toBe("0");
    expect(await ledgerBalance(BURN_RESERVE.id)).toBe(0);
    expect(await ledgerBalance("burned")).toBe(2_500_000);

    const after = await stats();
    expect(after.burned).toEqual({ mrd: "25", base: "25000000", micros: 2_500_000, burns: 1 });
    expect(after.lastBurn).toMatchObject({ id: row.id, signature: row.signature, mrd: "25" });
    expect(after.burnReserveMicros).toBe(0);
    expect(after.rateMicros).toBe(RATE);
    const listed = (await (await call("/v1/token/burns")).json()) as {
      burns: { id: string; status: string }[];
    };
    expect(listed.burns[0]).toMatchObject({ id: row.id, status: "burned" });

    // Nothing left to burn: a second run claims nothing and burns nothing.
    const again = (await (
      await call("/v1/operator/burns/run", { method: "POST", headers: OPERATOR })
    ).json()) as {
      claimed: number;
      burned: number;
    };
    expect(again).toMatchObject({ claimed: 0, burned: 0 });
    expect(await burnsOnChain(row.id)).toHaveLength(1);
  });

  it("waits while the reserve is under the minimum", async () => {
    const count = (await burnRows()).length;
    await seedReserve(400_000);
    const result = await run();
    expect(result.claimed).toBe(0);
    expect(await burnRows()).toHaveLength(count);
    expect(await ledgerBalance(BURN_RESERVE.id)).toBe(400_000);
  });

  for (const step of ["claimed", "signed", "sent"] as const) {
    it(`burns exactly once when the run crashes after "${step}"`, async () => {
      await seedReserve(1_000_000);
      const reserve = await ledgerBalance(BURN_RESERVE.id);
      const burnedBefore = await ledgerBalance("burned");
      await expect(
        run((at) => {
          if (at === step) throw new Crash(at);
        }),
      ).rejects.toBeInstanceOf(Crash);
      // The µUSD left the reserve at the claim, before anything was signed.
      expect(await ledgerBalance(BURN_RESERVE.id)).toBe(0);
      for (let i = 0; i < 3 && (await burnRows()).some((r) => r.status === "open"); i++) await run();
      const rows = await burnRows();
      const last = rows.at(-1);
      if (!last) throw new Error("no burn");
      expect(last.status).toBe("burned");
      expect(last.mrd_base).toBe(reserve * 10);
      expect(await burnsOnChain(last.id)).toHaveLength(1);
      expect(await ledgerBalance("burned")).toBe(burnedBefore + reserve);
      const moved = await env.DB.prepare(
        "SELECT count(*) AS n FROM ledger_transfers WHERE kind = 'burn_buyback' AND idempotency_key = ?",
      )
        .bind(`burn:${last.id}`)
        .first<{ n: number }>();
      expect(moved?.n).toBe(1);
    });
  }

  it("signs again only after the stored bytes' blockhash has expired unlanded", async () => {
    await seedReserve(1_200_000);
    await expect(
      run((at) => {
        if (at === "signed") throw new Crash(at);
      }),
    ).rejects.toBeInstanceOf(Crash);
    const stored = await env.DB.prepare(
      "SELECT id, signature AS s, last_valid_block_height AS h FROM burns WHERE status = 'open'",
    ).first<{ id: string; s: string; h: number }>();
    if (!stored) throw new Error("no open burn");
    while ((await chain.blockHeight("finalized")) <= stored.h) await new Promise((r) => setTimeout(r, 100));
    const result = await run(undefined, false);
    expect(result).toMatchObject({ resigned: 1, burned: 1 });
    expect(await chain.status(stored.s as Signature)).toBeNull();
    const after = await env.DB.prepare(
      "SELECT signings AS n, expired_signatures AS e FROM burns WHERE id = ?",
    )
      .bind(stored.id)
      .first<{ n: number; e: string }>();
    expect(after?.n).toBe(2);
    expect(JSON.parse(after?.e ?? "[]")).toEqual([stored.s]);
    expect(await burnsOnChain(stored.id)).toHaveLength(1);
  });

  it("refuses a run without the operator token, and bad queries, changing nothing", async () => {
    await seedReserve(3_000_000);
    const count = (await burnRows()).length;
    await expectError(await call("/v1/operator/burns/run", { method: "POST" }), 401, "unauthorized");
    await expectError(
      await call("/v1/operator/burns/run", { method: "POST", headers: { authorization: "Bearer nope" } }),
      403,
      "operator_only",
    );
    expect(await burnRows()).toHaveLength(count);
    expect(await ledgerBalance(BURN_RESERVE.id)).toBe(3_000_000);
    for (const query of ["limit=0", "limit=abc", "limit=101", "other=1"]) {
      const res = await call(`/v1/token/burns?${query}`);
      expect(res.status, query).toBe(400);
    }
  });

  it("ends a burn whose preflight is refused as failed, after a bounded number of sends, and gives the reserve back", async () => {
    await seedReserve(1_500_000);
    const reserve = await ledgerBalance(BURN_RESERVE.id);
    const supplyBefore = await supplyOnChain();
    // A burn vault that is not a token account (a misconfigured BURN_VAULT): every preflight refuses it.
    const wrongVault = address("11111111111111111111111111111112");
    const first = await run(undefined, true, wrongVault);
    expect(first).toMatchObject({ claimed: 1, burned: 0, pending: 1, failed: 0 });
    const open = await env.DB.prepare(
      "SELECT id, last_valid_block_height AS h, send_refusals AS n, error FROM burns WHERE status = 'open'",
    ).first<{ id: string; h: number; n: number; error: string }>();
    if (!open) throw new Error("no open burn");
    expect(open.n).toBe(1);
    expect(open.error).toContain("simulation failed");
    for (let i = 1; i < MAX_SEND_REFUSALS; i++) await run(undefined, false, wrongVault);
    // At the limit the bytes are not sent again, and the burn stays open until they cannot land.
    const held = await run(undefined, false, wrongVault);
    expect(held).toMatchObject({ pending: 1, failed: 0 });
    const refusals = await env.DB.prepare("SELECT send_refusals AS n, signings AS s FROM burns WHERE id = ?")
      .bind(open.id)
      .first<{ n: number; s: number }>();
    expect(refusals).toEqual({ n: MAX_SEND_REFUSALS, s: 1 });
    while ((await chain.blockHeight("finalized")) <= open.h) await new Promise((r) => setTimeout(r, 100));
    const ended = await run(undefined, false, wrongVault);
    expect(ended).toMatchObject({ failed: 1, refused: 1, burned: 0, resigned: 0 });

    // Terminal and visible: failed with its error on the public list, the µUSD back in the reserve,
    // no MRD burned, no transaction of it on chain.
    const listed = (await (await call("/v1/token/burns")).json()) as {
      burns: { id: string; status: string; error: string | null }[];
    };
    const shown = listed.burns.find((b) => b.id === open.id);
    expect(shown?.status).toBe("failed");
    expect(shown?.error).toContain(`refused by preflight ${MAX_SEND_REFUSALS} times`);
    expect(await ledgerBalance(BURN_RESERVE.id)).toBe(reserve);
    expect(await supplyOnChain()).toBe(supplyBefore);
    const after = await run(undefined, false, wrongVault);
    expect(after).toMatchObject({ claimed: 0, pending: 0, failed: 0 });

    // With the right vault the next run claims the reserve again and burns it.
    const fixed = await run();
    expect(fixed).toMatchObject({ claimed: 1, burned: 1 });
    expect(await ledgerBalance(BURN_RESERVE.id)).toBe(0);
  });
});

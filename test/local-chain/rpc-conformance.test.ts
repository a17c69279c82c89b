import {
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcCall, startTestChain } from "./support.js";

// Drives the local chain with web3.js 1.x's Connection, which checks every response against its own
// schemas (superstruct): a field of the wrong shape fails the call. Slots advance by hand here.
let chain: Awaited<ReturnType<typeof startTestChain>>;
let connection: Connection;
const payer = Keypair.generate();
const recipient = Keypair.generate();

function advance(slots = 1): void {
  for (let i = 0; i < slots; i++) chain.chain.advance();
}

beforeAll(async () => {
  chain = await startTestChain({ finalityLag: 4 });
  connection = new Connection(chain.url, "confirmed");
  advance(5);
});
afterAll(async () => {
  await chain.cleanup();
});

async function transfer(
  lamports: number,
  options: { skipPreflight?: boolean; version?: "legacy" | 0 } = {},
): Promise<string> {
  const { blockhash } = await connection.getLatestBlockhash("confirmed");
  const instruction = SystemProgram.transfer({
    fromPubkey: payer.publicKey,
    toPubkey: recipient.publicKey,
    lamports,
  });
  if (options.version === 0) {
    const message = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: blockhash,
      instructions: [instruction],
    }).compileToV0Message();
    const tx = new VersionedTransaction(message);
    tx.sign([payer]);
    return connection.sendRawTransaction(tx.serialize(), { skipPreflight: options.skipPreflight ?? false });
  }
  const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(instruction);
  tx.sign(payer);
  return connection.sendRawTransaction(tx.serialize(), { skipPreflight: options.skipPreflight ?? false });
}

describe("the local chain through web3.js 1.x Connection", () => {
  it("answers getVersion, getGenesisHash, getSlot and getBlockHeight with commitment honoured", async () => {
    const version = await connection.getVersion();
    expect(version["solana-core"]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(await connection.getGenesisHash()).toBe(chain.chain.addresses.genesisHash);
    const processed = await connection.getSlot("processed");
    const confirmed = await connection.getSlot("confirmed");
    const finalized = await connection.getSlot("finalized");
    expect(confirmed).toBe(processed - 1);
    expect(finalized).toBe(processed - 4);
    expect(await connection.getBlockHeight("processed")).toBe(processed);
    advance();
    expect(await connection.getSlot("processed")).toBe(processed + 1);
  });

  it("airdrops, confirms through getSignatureStatuses, and reports balances per commitment", async () => {
    const signature = await connection.requestAirdrop(payer.publicKey, 2 * LAMPORTS_PER_SOL);
    const processed = await connection.getSignatureStatuses([signature]);
    expect(processed.value[0]?.confirmationStatus).toBe("processed");
    expect(await connection.getBalance(payer.publicKey, "processed")).toBe(2 * LAMPORTS_PER_SOL);
    expect(await connection.getBalance(payer.publicKey, "confirmed")).toBe(0);
    advance();
    const confirmed = await connection.getSignatureStatus(signature);
    expect(confirmed.value?.confirmationStatus).toBe("confirmed");
    expect(confirmed.value?.confirmations).toBe(1);
    expect(await connection.getBalance(payer.publicKey, "finalized")).toBe(0);
    advance(4);
    const finalized = await connection.getSignatureStatus(signature);
    expect(finalized.value).toMatchObject({
      confirmationStatus: "finalized",
      confirmations: null,
      err: null,
    });
    expect(await connection.getBalance(payer.publicKey, "finalized")).toBe(2 * LAMPORTS_PER_SOL);
  });

  it("gives blockhashes that expire after 150 blocks", async () => {
    const latest = await connection.getLatestBlockhash("processed");
    expect(latest.lastValidBlockHeight).toBe((await connection.getBlockHeight("processed")) + 150);
    const finalized = await connection.getLatestBlockhash("finalized");
    expect(finalized.lastValidBlockHeight).toBe(latest.lastValidBlockHeight - 4);
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: latest.blockhash }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient.publicKey, lamports: 1 }),
    );
    tx.sign(payer);
    advance(151);
    await expect(connection.sendRawTransaction(tx.serialize())).rejects.toThrow(/Blockhash not found/);
    // Without preflight a cluster drops it: the signature comes back and never gets a status.
    const dropped = await connection.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    expect((await connection.getSignatureStatus(dropped)).value).toBeNull();
  });

  it("simulates, sends, and reports a transfer through getTransaction (json and jsonParsed)", async () => {
    const { blockhash } = await connection.getLatestBlockhash("confirmed");
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      SystemProgram.transfer({
        fromPubkey: payer.publicKey,
        toPubkey: recipient.publicKey,
        lamports: 1_000_000,
      }),
    );
    tx.sign(payer);
    const simulated = await connection.simulateTransaction(tx);
    expect(simulated.value.err).toBeNull();
    expect(simulated.value.logs?.[0]).toContain("invoke [1]");
    const signature = await transfer(1_000_000);
    advance();
    const json = await connection.getTransaction(signature, {
      commitment: "confirmed",
      maxSupportedTransactionVersion: 0,
    });
    expect(json?.meta?.fee).toBe(5000);
    expect(json?.meta?.err).toBeNull();
    expect(json?.transaction.signatures[0]).toBe(signature);
    expect(json?.version).toBe("legacy");
    const keys = json?.transaction.message.staticAccountKeys.map((k) => k.toBase58()) ?? [];
    const to = keys.indexOf(recipient.publicKey.toBase58());
    expect((json?.meta?.postBalances[to] ?? 0) - (json?.meta?.preBalances[to] ?? 0)).toBe(1_000_000);
    const parsed = await connection.getParsedTransaction(signature, {
      commitment: "confirmed",
      maxSupportedTransactionVersion: 0,
    });
    const instruction = parsed?.transaction.message.instructions[0];
    expect(instruction && "parsed" in instruction ? instruction.parsed : null).toEqual({
      type: "transfer",
      info: {
        source: payer.publicKey.toBase58(),
        destination: recipient.publicKey.toBase58(),
        lamports: 1_000_000,
      },
    });
    expect(parsed?.transaction.message.accountKeys[0]).toMatchObject({ signer: true, writable: true });
    // Not yet finalized: a finalized read does not see it.
    expect(
      await connection.getTransaction(signature, {
        commitment: "finalized",
        maxSupportedTransactionVersion: 0,
      }),
    ).toBeNull();
  });

  it("handles v0 transactions and refuses them to a client that does not declare support", async () => {
    const signature = await transfer(2_000, { version: 0 });
    advance();
    const tx = await connection.getTransaction(signature, {
      commitment: "confirmed",
      maxSupportedTransactionVersion: 0,
    });
    expect(tx?.version).toBe(0);
    const raw = await rpcCall(chain.url, "getTransaction", [signature, { commitment: "confirmed" }]);
    expect(raw.error?.code).toBe(-32015);
  });

  it("lists signatures for an address newest first, with before, until and limit", async () => {
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) {
      sent.push(await transfer(1_000 + i));
      advance();
    }
    const all = await connection.getSignaturesForAddress(recipient.publicKey, {}, "confirmed");
    expect(all.slice(0, 4).map((s) => s.signature)).toEqual([...sent].reverse());
    expect(all[0]).toMatchObject({ err: null, memo: null, confirmationStatus: "confirmed" });
    const limited = await connection.getSignaturesForAddress(recipient.publicKey, { limit: 2 }, "confirmed");
    expect(limited.map((s) => s.signature)).toEqual([sent[3], sent[2]]);
    const before = await connection.getSignaturesForAddress(
      recipient.publicKey,
      { before: sent[2], until: sent[0] },
      "confirmed",
    );
    expect(before.map((s) => s.signature)).toEqual([sent[1]]);
  });

  it("refuses a failing transaction in preflight with its logs, and lands it with its error without preflight", async () => {
    const poor = Keypair.generate();
    const before = await connection.getBalance(payer.publicKey, "processed");
    await expect(transfer(100 * LAMPORTS_PER_SOL)).rejects.toThrow(/Transaction simulation failed/);
    expect(await connection.getBalance(payer.publicKey, "processed")).toBe(before);
    const landed = await transfer(100 * LAMPORTS_PER_SOL, { skipPreflight: true });
    const status = await connection.getSignatureStatus(landed);
    expect(status.value?.err).toEqual({ InstructionError: [0, { Custom: 1 }] });
    expect(await connection.getBalance(payer.publicKey, "processed")).toBe(before - 5000);
    expect(await connection.getBalance(poor.publicKey)).toBe(0);
  });

  it("serves token accounts: faucet mint, getTokenAccountsByOwner, getTokenAccountBalance, getAccountInfo", async () => {
    const usdc = new PublicKey(chain.chain.addresses.usdcMint);
    const minted = await rpcCall(chain.url, "meridian_faucet", [
      recipient.publicKey.toBase58(),
      "2500000",
      "usdc",
    ]);
    expect(typeof minted.result).toBe("string");
    advance();
    const accounts = await connection.getTokenAccountsByOwner(recipient.publicKey, { mint: usdc });
    expect(accounts.value).toHaveLength(1);
    const ata = accounts.value[0]?.pubkey ?? PublicKey.default;
    const balance = await connection.getTokenAccountBalance(ata);
    expect(balance.value).toEqual({ amount: "2500000", decimals: 6, uiAmount: 2.5, uiAmountString: "2.5" });
    const parsed = await connection.getParsedTokenAccountsByOwner(recipient.publicKey, { mint: usdc });
    expect(parsed.value[0]?.account.data.parsed).toMatchObject({
      type: "account",
      info: {
        mint: usdc.toBase58(),
        owner: recipient.publicKey.toBase58(),
        state: "initialized",
        isNative: false,
      },
    });
    const raw = await connection.getAccountInfo(ata);
    expect(raw?.data.length).toBe(165);
    expect(raw?.owner.toBase58()).toBe("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
    const mint = await connection.getParsedAccountInfo(usdc);
    expect(mint.value?.data).toMatchObject({
      program: "spl-token",
      parsed: { type: "mint", info: { decimals: 6 } },
    });
    const rent = await connection.getMinimumBalanceForRentExemption(165);
    expect(raw?.lamports).toBe(rent);
    const tx = await connection.getParsedTransaction(String(minted.result), {
      commitment: "confirmed",
      maxSupportedTransactionVersion: 0,
    });
    expect(tx?.meta?.postTokenBalances?.[0]?.uiTokenAmount.amount).toBe("2500000");
  });

  it("answers bad requests with Solana's error codes", async () => {
    expect((await rpcCall(chain.url, "getBalance", ["not-an-address"])).error?.code).toBe(-32602);
    expect((await rpcCall(chain.url, "noSuchMethod")).error).toEqual({
      code: -32601,
      message: "Method not found",
    });
    expect(
      (await rpcCall(chain.url, "getTransaction", ["1".repeat(64), { commitment: "processed" }])).error?.code,
    ).toBe(-32602);
    const response = await fetch(chain.url, { method: "POST", body: "{not json" });
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32700);
    expect((await rpcCall(chain.url, "getHealth")).result).toBe("ok");
  });
});

import { env } from "cloudflare:workers";
import { address, generateKeyPairSigner } from "@solana/kit";
import { describe, expect, it } from "vitest";
import { chainConfig } from "../../src/chain/chain-config.js";
import { memoInstruction } from "../../src/chain/memo.js";
import { SolanaClient } from "../../src/chain/solana-client.js";
import {
  associatedTokenAddress,
  burnInstruction,
  tokenTransferInstructions,
} from "../../src/chain/token-instructions.js";
import { treasurySigner } from "../../src/chain/treasury.js";
import { confirmOnChain, parsedTransaction, tokenBalance } from "./chain-support.js";

// The chain module inside workerd (kit over the Worker's fetch, WebCrypto Ed25519) against the local
// Solana JSON-RPC server the workers config started.
describe("the chain module in workerd", () => {
  const config = chainConfig(env);
  const client = new SolanaClient(config.rpcUrl);

  it("transfers USDC from the treasury to a new wallet, creating its token account, with a memo", async () => {
    const treasury = await treasurySigner(config);
    const wallet = await generateKeyPairSigner();
    const instructions = [
      ...(await tokenTransferInstructions({
        mint: config.usdcMint,
        decimals: 6,
        from: treasury,
        to: wallet.address,
        amount: 1_250_000n,
        payer: treasury,
      })),
      memoInstruction("meridian test transfer"),
    ];
    const signed = await client.sign(treasury, instructions);
    expect(signed.bytes).toBeLessThanOrEqual(1232);
    await client.send(signed);
    // The same bytes again change nothing.
    await client.send(signed);
    expect(await confirmOnChain(client, signed)).toBe("confirmed");
    const ata = await associatedTokenAddress(wallet.address, config.usdcMint);
    expect(await tokenBalance(client, ata)).toBe(1_250_000n);
    const tx = await parsedTransaction(client, signed.signature);
    const memo = tx.memos;
    expect(memo).toEqual(["meridian test transfer"]);
    const signatures = await client.rpc
      .getSignaturesForAddress(wallet.address, { commitment: "confirmed" })
      .send();
    expect(signatures.map((s) => s.signature)).toEqual([signed.signature]);
    expect(signatures[0]?.memo).toBe("[22] meridian test transfer");
  });

  it("burns MRD from the treasury: the mint's supply goes down", async () => {
    const treasury = await treasurySigner(config);
    const mint = address(config.mrdMint);
    const supply = async () =>
      BigInt((await client.rpc.getTokenSupply(mint, { commitment: "confirmed" }).send()).value.amount);
    const supplyBefore = await supply();
    const source = await associatedTokenAddress(treasury.address, mint);
    const before = await tokenBalance(client, source);
    const signed = await client.sign(treasury, [
      burnInstruction({ account: source, mint, decimals: 6, authority: treasury, amount: 5_000_000n }),
    ]);
    await client.send(signed);
    expect(await confirmOnChain(client, signed)).toBe("confirmed");
    expect(await tokenBalance(client, source)).toBe(before - 5_000_000n);
    expect(await supply()).toBe(supplyBefore - 5_000_000n);
  });

  it("reports a transaction whose blockhash passed as expired, never landed", async () => {
    const treasury = await treasurySigner(config);
    const signed = await client.sign(treasury, [memoInstruction("never sent")]);
    const stale = { ...signed, lastValidBlockHeight: (await client.blockHeight("finalized")) - 1 };
    expect(await client.outcome(stale, "confirmed")).toEqual({ state: "expired" });
  });
});

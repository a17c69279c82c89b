import { address, createSolanaRpc } from "@solana/kit";
import {
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SystemProgram,
  Transaction,
} from "@solana/web3.js";

const TOKEN_PROGRAM = new PublicKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");

import { describe, expect, it } from "vitest";
import { rpcCall, startTestChain } from "./support.js";

describe("the local chain across restarts and over time", () => {
  it("keeps balances, transactions, signatures and the slot after a restart", async () => {
    const first = await startTestChain({ finalityLag: 2 });
    const dir = first.dir;
    const connection = new Connection(first.url, "confirmed");
    const payer = Keypair.generate();
    const to = Keypair.generate();
    await connection.requestAirdrop(payer.publicKey, LAMPORTS_PER_SOL);
    first.chain.advance();
    const { blockhash } = await connection.getLatestBlockhash("confirmed");
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to.publicKey, lamports: 1_000_000 }),
    );
    tx.sign(payer);
    const signature = await connection.sendRawTransaction(tx.serialize());
    await rpcCall(first.url, "meridian_faucet", [to.publicKey.toBase58(), "777", "mrd"]);
    first.chain.advance();
    const slot = await connection.getSlot("processed");
    const addresses = first.chain.addresses;
    await first.close();

    const second = await startTestChain({ dir, finalityLag: 2 });
    try {
      const again = new Connection(second.url, "confirmed");
      expect(second.chain.addresses).toEqual(addresses);
      expect(await again.getSlot("processed")).toBe(slot);
      expect(await again.getBalance(to.publicKey, "processed")).toBe(1_000_000);
      expect(await again.getBalance(payer.publicKey, "processed")).toBe(LAMPORTS_PER_SOL - 1_000_000 - 5_000);
      const tokens = await again.getParsedTokenAccountsByOwner(to.publicKey, { programId: TOKEN_PROGRAM });
      expect(tokens.value[0]?.account.data.parsed.info.tokenAmount.amount).toBe("777");
      expect(
        (
          await again.getTransaction(signature, {
            commitment: "confirmed",
            maxSupportedTransactionVersion: 0,
          })
        )?.slot,
      ).toBeLessThanOrEqual(slot);
      expect(
        (await again.getSignaturesForAddress(to.publicKey, {}, "confirmed")).map((s) => s.signature),
      ).toContain(signature);
      // The same bytes again: already processed, never twice.
      await expect(again.sendRawTransaction(tx.serialize())).rejects.toThrow(/already been processed/);
      expect(await again.getBalance(to.publicKey, "processed")).toBe(1_000_000);
      // A commitment view survives the restart too: the faucet's write is not final yet.
      expect(await again.getBalance(to.publicKey, "finalized")).toBe(0);
      second.chain.advance();
      second.chain.advance();
      expect(await again.getBalance(to.publicKey, "finalized")).toBe(1_000_000);
    } finally {
      await second.cleanup();
    }
  });

  it("advances slots on a timer, finalized lagging confirmed, and serves kit's RPC client", async () => {
    const chain = await startTestChain({ slotMs: 10, finalityLag: 3 });
    try {
      const rpc = createSolanaRpc(chain.url);
      const start = await rpc.getSlot({ commitment: "processed" }).send();
      await new Promise((resolve) => setTimeout(resolve, 120));
      const processed = await rpc.getSlot({ commitment: "processed" }).send();
      expect(processed).toBeGreaterThan(start);
      const finalized = await rpc.getSlot({ commitment: "finalized" }).send();
      expect(finalized).toBeLessThan(processed);
      expect(await rpc.getHealth().send()).toBe("ok");
      expect(await rpc.getGenesisHash().send()).toBe(chain.chain.addresses.genesisHash);
      const latest = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
      expect(latest.value.lastValidBlockHeight).toBeGreaterThan(latest.context.slot);
      const mint = await rpc
        .getAccountInfo(address(chain.chain.addresses.mrdMint), { encoding: "jsonParsed" })
        .send();
      expect(mint.value?.data).toMatchObject({ program: "spl-token", parsed: { type: "mint" } });
      const treasury = await rpc.getBalance(address(chain.chain.addresses.treasury)).send();
      expect(treasury.value).toBe(1_000n * 1_000_000_000n);
      const vault = await rpc.getTokenAccountBalance(address(chain.chain.addresses.stakeVault)).send();
      expect(vault.value.amount).toBe("0");
      const owned = await rpc
        .getTokenAccountsByOwner(
          address(chain.chain.addresses.treasury),
          { mint: address(chain.chain.addresses.mrdMint) },
          { encoding: "base64" },
        )
        .send();
      // The treasury's MRD account, the stake vault and the burn vault.
      expect(owned.value).toHaveLength(3);
    } finally {
      await chain.cleanup();
    }
  });
});

/**
 * `npm run bench:chain`: a top-up paid on the local chain, from the payment's confirmation to the
 * account's credit (p50/p99), against the chain's own send → confirmed time in the same run as the
 * baseline. The stack: the local Solana JSON-RPC server (400 ms slots, as a cluster) and `wrangler
 * dev`; the payer builds its transfer with kit and the token program, as a wallet would.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  createSolanaRpc,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import {
  findAssociatedTokenPda,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from "@solana-program/token";
import { startRpcServer } from "../src/local-chain/rpc-server.js";
import { freshState, startStack } from "./support/wrangler.js";

const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 20);
const POLL_MS = 10;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "meridian-bench-chain-"));
  const chain = await startRpcServer({ dir, port: 0, slotMs: 400, finalityLag: 32 });
  const a = chain.chain.addresses;
  const treasury = JSON.parse(readFileSync(path.join(dir, "keys", "treasury.json"), "utf8")) as number[];
  const stack = await startStack(await freshState(), {
    SOLANA_CLUSTER: "local",
    SOLANA_RPC_URL: chain.url,
    USDC_MINT: a.usdcMint,
    MRD_MINT: a.mrdMint,
    TREASURY_SECRET_KEY: Buffer.from(treasury).toString("base64"),
  });
  const rpc = createSolanaRpc(chain.url);
  try {
    const signup = (await (await fetch(`${stack.url}/v1/accounts`, { method: "POST" })).json()) as {
      apiKey: string;
    };
    const auth = { authorization: `Bearer ${signup.apiKey}`, "content-type": "application/json" };
    const payer = await generateKeyPairSigner();
    for (const [token, amount] of [
      ["sol", "10"],
      ["usdc", "100000"],
    ]) {
      await fetch(`${stack.url}/v1/dev/faucet`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ wallet: payer.address, amount, token }),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const toCredit: number[] = [];
    const toConfirm: number[] = [];
    for (let i = 0; i < PAYMENTS; i++) {
      const topup = (await (
        await fetch(`${stack.url}/v1/topups`, {
          method: "POST",
          headers: auth,
          body: JSON.stringify({ token: "usdc", amount: "1" }),
        })
      ).json()) as {
        id: string;
        recipient: string;
        reference: string;
      };
      const mint = address(a.usdcMint);
      const [source] = await findAssociatedTokenPda({
        owner: payer.address,
        mint,
        tokenProgram: TOKEN_PROGRAM_ADDRESS,
      });
      const [destination] = await findAssociatedTokenPda({
        owner: address(topup.recipient),
        mint,
        tokenProgram: TOKEN_PROGRAM_ADDRESS,
      });
      const ix = getTransferCheckedInstruction({
        source,
        mint,
        destination,
        authority: payer,
        amount: 1_000_000n,
        decimals: 6,
      });
      const withReference = {
        ...ix,
        accounts: [...ix.accounts, { address: address(topup.reference), role: AccountRole.READONLY }],
      };
      const { value: lifetime } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
      const signed = await signTransactionMessageWithSigners(
        pipe(
          createTransactionMessage({ version: 0 }),
          (m) => setTransactionMessageFeePayerSigner(payer, m),
          (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
          (m) => appendTransactionMessageInstruction(withReference, m),
        ),
      );
      const sentAt = performance.now();
      await rpc.sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: "base64" }).send();
      const signature = getSignatureFromTransaction(signed);
      for (;;) {
        const { value } = await rpc.getSignatureStatuses([signature]).send();
        if (value[0]?.confirmationStatus === "confirmed" || value[0]?.confirmationStatus === "finalized")
          break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      const confirmedAt = performance.now();
      for (;;) {
        const view = (await (
          await fetch(`${stack.url}/v1/topups/${topup.id}`, { headers: auth })
        ).json()) as { status: string };
        if (view.status === "credited") break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      toCredit.push(performance.now() - confirmedAt);
      toConfirm.push(confirmedAt - sentAt);
    }
    const fmt = (v: number) => v.toFixed(1);
    console.log(
      `payments: ${PAYMENTS} (400 ms slots; credit checked by GET /v1/topups/:id every ${POLL_MS} ms)`,
    );
    console.log(
      `send → confirmed on chain (baseline): p50 ${fmt(quantile(toConfirm, 0.5))} ms, p99 ${fmt(quantile(toConfirm, 0.99))} ms`,
    );
    console.log(
      `confirmed → credited:                 p50 ${fmt(quantile(toCredit, 0.5))} ms, p99 ${fmt(quantile(toCredit, 0.99))} ms`,
    );
    console.log(
      `ratio credited-after-confirm / confirm: p50 ${(quantile(toCredit, 0.5) / quantile(toConfirm, 0.5)).toFixed(3)}`,
    );
  } finally {
    await stack.dispose();
    await chain.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

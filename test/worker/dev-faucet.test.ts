import { env } from "cloudflare:workers";
import { address, generateKeyPairSigner } from "@solana/kit";
import { describe, expect, it } from "vitest";
import { chainConfig } from "../../src/chain/chain-config.js";
import { SolanaClient } from "../../src/chain/solana-client.js";
import { associatedTokenAddress } from "../../src/chain/token-instructions.js";
import { app } from "../../src/worker/app.js";
import { call, expectError, jsonInit } from "./support.js";

describe("the local faucet", () => {
  const client = new SolanaClient(chainConfig(env).rpcUrl);

  it("sends USDC, MRD and SOL to a wallet on the local chain", async () => {
    const wallet = await generateKeyPairSigner();
    const usdc = await call("/v1/dev/faucet", jsonInit("POST", { wallet: wallet.address, amount: "12.5" }));
    expect(usdc.status).toBe(201);
    expect(await usdc.json()).toMatchObject({ token: "usdc", baseUnits: "12500000" });
    const sol = await call(
      "/v1/dev/faucet",
      jsonInit("POST", { wallet: wallet.address, amount: "0.5", token: "sol" }),
    );
    expect(sol.status).toBe(201);
    const ata = await associatedTokenAddress(wallet.address, address(chainConfig(env).usdcMint));
    const balance = await client.rpc.getTokenAccountBalance(ata, { commitment: "processed" }).send();
    expect(balance.value.amount).toBe("12500000");
    expect((await client.rpc.getBalance(wallet.address, { commitment: "processed" }).send()).value).toBe(
      500_000_000n,
    );
  });

  it("refuses a bad wallet, token or amount with 422, and any chain but the local one with 403", async () => {
    const wallet = (await generateKeyPairSigner()).address;
    await expectError(
      await call("/v1/dev/faucet", jsonInit("POST", { wallet: "nope", amount: "1" })),
      422,
      "invalid_request",
    );
    await expectError(
      await call("/v1/dev/faucet", jsonInit("POST", { wallet, amount: "1", token: "btc" })),
      422,
      "invalid_request",
    );
    await expectError(
      await call("/v1/dev/faucet", jsonInit("POST", { wallet, amount: "0.0000001" })),
      422,
      "invalid_amount",
    );
    await expectError(
      await call("/v1/dev/faucet", jsonInit("POST", { wallet, amount: "0" })),
      422,
      "invalid_amount",
    );
    const devnet = await app.request("/v1/dev/faucet", jsonInit("POST", { wallet, amount: "1" }), {
      ...env,
      SOLANA_CLUSTER: "devnet",
    });
    await expectError(devnet, 403, "faucet_not_local");
    const deployed = await app.request(
      "https://meridian.example.com/v1/dev/faucet",
      jsonInit("POST", { wallet, amount: "1" }),
      { ...env, REQUIRE_VERIFIED_GPUS: "true" },
    );
    await expectError(deployed, 403, "faucet_not_local");
    expect((await client.rpc.getBalance(address(wallet), { commitment: "processed" }).send()).value).toBe(0n);
  });
});

import * as ed from "@noble/ed25519";
import { expect } from "vitest";
import { encodeBase58 } from "../../src/shared/base58.js";
import { call, jsonInit } from "./support.js";

export interface TestWallet {
  address: string;
  sign(message: string): Promise<string>;
}

/** A wallet as a browser extension holds one: an ed25519 key whose public half is the address. */
export async function wallet(): Promise<TestWallet> {
  const secret = ed.utils.randomSecretKey();
  const address = encodeBase58(await ed.getPublicKeyAsync(secret));
  return {
    address,
    sign: async (message) => encodeBase58(await ed.signAsync(new TextEncoder().encode(message), secret)),
  };
}

export async function challenge(
  address: string,
): Promise<{ message: string; fields: Record<string, string> }> {
  const res = await call("/v1/auth/wallet/challenge", jsonInit("POST", { address }));
  expect(res.status).toBe(201);
  return res.json();
}

/** Asks for a message, signs it and sends it with `extra` (key kind, scopes, …); the raw answer. */
export async function walletSignIn(w: TestWallet, extra: Record<string, unknown> = {}): Promise<Response> {
  const issued = await challenge(w.address);
  return call(
    "/v1/auth/wallet/verify",
    jsonInit("POST", { message: issued.message, signature: await w.sign(issued.message), ...extra }),
  );
}

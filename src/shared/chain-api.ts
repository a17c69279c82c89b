import { z } from "zod";
import { KeyScope, SessionKeySeconds } from "./api-key-scopes.js";
import { decodeBase58 } from "./base58.js";
import { ReferralCode } from "./referral-api.js";

/** Request and response bodies of wallet sign-in, top-ups and the local faucet. */

/** A Solana address: base58 of a 32-byte public key. */
export const SolanaAddress = z
  .string()
  .min(32)
  .max(44)
  .refine((text) => decodeBase58(text)?.length === 32, {
    message: "not a Solana address (base58 of 32 bytes)",
  });

export const SiwsChallengeRequest = z.object({ address: SolanaAddress }).strict();

/** The fields of a Sign In With Solana message, as issued. */
export const SiwsFields = z.object({
  domain: z.string(),
  address: z.string(),
  statement: z.string(),
  uri: z.string(),
  version: z.literal("1"),
  chainId: z.string(),
  nonce: z.string(),
  issuedAt: z.string(),
  expirationTime: z.string(),
});
export type SiwsFields = z.infer<typeof SiwsFields>;

export const SiwsChallenge = z.object({ message: z.string(), fields: SiwsFields });

export const SiwsVerifyRequest = z
  .object({
    message: z.string().min(1).max(2_000),
    /** The wallet's ed25519 signature over the message's UTF-8 bytes: base58 or base64. */
    signature: z.string().min(64).max(120),
    /** Another account's referral code, for a wallet signing in for the first time. */
    referralCode: ReferralCode.optional(),
    /** `api` (default): a key that lasts until revoked; `session`: one that expires. */
    key: z.enum(["api", "session"]).optional(),
    /** The key's scopes, as for POST /v1/account/keys; default `full`. */
    scopes: z.array(KeyScope).min(1).max(8).optional(),
    /** A session key's life (60 to 86,400 s; default 3,600). Only with `key: "session"`. */
    expiresInSeconds: SessionKeySeconds.optional(),
  })
  .strict()
  .refine((body) => body.expiresInSeconds === undefined || body.key === "session", {
    message: 'expiresInSeconds needs key: "session"',
    path: ["expiresInSeconds"],
  });

export const SiwsSignedIn = z.object({
  accountId: z.string(),
  address: z.string(),
  apiKey: z.string(),
  keyId: z.string(),
  scopes: z.array(KeyScope),
  /** A session key's end; null for an API key that lasts until revoked. */
  expiresAt: z.string().nullable(),
  created: z.boolean(),
});

export const PayoutWallet = z.object({ accountId: z.string(), address: z.string(), linkedAt: z.string() });

/** Token amounts are decimal strings in whole tokens ("12.5"), at most the mint's 6 decimals. */
export const TokenAmount = z
  .string()
  .regex(/^\d{1,12}(\.\d+)?$/, { message: "a decimal amount of tokens such as 12.5" });

export const TopupToken = z.enum(["usdc", "mrd"]);

export const CreateTopupRequest = z.object({ token: TopupToken, amount: TokenAmount }).strict();

export const TopupView = z.object({
  id: z.string(),
  token: TopupToken,
  amount: z.string(),
  credit: z.string(),
  status: z.enum(["pending", "confirmed", "credited", "underpaid", "wrong_mint", "failed"]),
  recipient: z.string(),
  mint: z.string(),
  reference: z.string(),
  url: z.string(),
  signature: z.string().nullable(),
  paid: z.string().nullable(),
  note: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type TopupView = z.infer<typeof TopupView>;

/** POST /v1/topups answers the request with its QR code, to show at once. */
export const TopupCreated = TopupView.extend({ qrSvg: z.string() });
export type TopupCreated = z.infer<typeof TopupCreated>;

export const FaucetToken = z.enum(["usdc", "mrd", "sol"]);

export const FaucetRequest = z
  .object({ wallet: SolanaAddress, amount: TokenAmount, token: FaucetToken.default("usdc") })
  .strict();

export const FaucetResult = z.object({
  signature: z.string(),
  wallet: z.string(),
  token: FaucetToken,
  amount: z.string(),
  baseUnits: z.string(),
});
export type FaucetResult = z.infer<typeof FaucetResult>;

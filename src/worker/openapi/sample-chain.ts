/** Example bodies of wallet sign-in, payout wallets, top-ups and the faucet; the OpenAPI test validates each. */
import { SAMPLE_IDS } from "./sample-bodies.js";

export const SAMPLE_WALLET = "7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV";

const FIELDS = {
  domain: "localhost:8787",
  address: SAMPLE_WALLET,
  statement: "Sign in to Meridian",
  uri: "http://localhost:8787",
  version: "1" as const,
  chainId: "solana:localnet",
  nonce: "k3Jq9vXb2LmT",
  issuedAt: "2026-12-01T08:00:00.000Z",
  expirationTime: "2026-12-01T08:05:00.000Z",
};

export const SAMPLE_SIWS_CHALLENGE = {
  message: [
    `${FIELDS.domain} wants you to sign in with your Solana account:`,
    FIELDS.address,
    "",
    FIELDS.statement,
    "",
    `URI: ${FIELDS.uri}`,
    "Version: 1",
    `Chain ID: ${FIELDS.chainId}`,
    `Nonce: ${FIELDS.nonce}`,
    `Issued At: ${FIELDS.issuedAt}`,
    `Expiration Time: ${FIELDS.expirationTime}`,
  ].join("\n"),
  fields: FIELDS,
};

export const SAMPLE_SIWS_VERIFY = {
  message: SAMPLE_SIWS_CHALLENGE.message,
  signature: "3yZe7d1s5kB6x2vRk7nJmXwQp9cTfHq4uLgA8hEoWbN2sVtYr6KjMzPdC1aF5eG7iH9jK2mN4pQ6rS8tU1vW3xY",
  key: "session",
  expiresInSeconds: 3600,
};

export const SAMPLE_SIGNED_IN = {
  accountId: SAMPLE_IDS.account,
  address: SAMPLE_WALLET,
  apiKey: "mrd_key_01jf7c3x5m2q8r4t6v9w0y1z3e_Qm9vZ2xlIGlzIG5vdCBhIGtleQ",
  keyId: "key_01jf7c3x5m2q8r4t6v9w0y1z3e",
  scopes: ["full"],
  expiresAt: "2026-12-01T09:00:00.000Z",
  created: false,
};

export const SAMPLE_PAYOUT_WALLET = {
  accountId: SAMPLE_IDS.account,
  address: SAMPLE_WALLET,
  linkedAt: "2026-12-01T08:00:00.000Z",
};

const MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const REFERENCE = "4Nd1mYwQhTQeXNn4bQnTTpV1BpYb8wBxyiw7Q3V1mZkB";

export const SAMPLE_TOPUP = {
  id: "top_5f0c8a7e2b9d4c1a8e6f3b2d1c0a9e8f",
  token: "usdc",
  amount: "25",
  credit: "25.00",
  status: "pending",
  recipient: "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM",
  mint: MINT,
  reference: REFERENCE,
  url: `solana:9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM?amount=25&spl-token=${MINT}&reference=${REFERENCE}&label=Meridian`,
  signature: null,
  paid: null,
  note: null,
  createdAt: "2026-12-01T08:00:00.000Z",
  updatedAt: "2026-12-01T08:00:00.000Z",
};

export const SAMPLE_FAUCET = {
  signature: "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW",
  wallet: SAMPLE_WALLET,
  token: "usdc",
  amount: "100",
  baseUnits: "100000000",
};

import { env } from "cloudflare:workers";
import { signature } from "@solana/kit";
import { expect } from "vitest";
import { authed, call, jsonInit } from "./support.js";
import { rpc } from "./topup-payer.js";

// The payer (an independent client: kit and the SPL token program's own builder) is topup-payer.ts.
export { fundedWallet, pay, rpc, sendNaming } from "./topup-payer.js";

export interface Topup {
  id: string;
  status: string;
  url: string;
  recipient: string;
  mint: string;
  reference: string;
  amount: string;
  credit: string;
  signature: string | null;
  note: string | null;
  qrSvg?: string;
}

export async function createTopup(apiKey: string, body: unknown): Promise<Topup> {
  const res = await call("/v1/topups", jsonInit("POST", body, apiKey));
  expect(res.status).toBe(201);
  return res.json();
}

export async function readTopup(apiKey: string, id: string): Promise<Topup> {
  const res = await call(`/v1/topups/${id}`, authed(apiKey));
  expect(res.status).toBe(200);
  return res.json();
}

export async function until(apiKey: string, id: string, status: string): Promise<Topup> {
  for (let i = 0; i < 200; i++) {
    const topup = await readTopup(apiKey, id);
    if (topup.status === status) return topup;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`top-up ${id} never reached ${status}`);
}

/** Waits until the chain reports the transaction confirmed, so a read after it must see it. */
export async function confirmed(sent: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { value } = await rpc.getSignatureStatuses([signature(sent)]).send();
    const status = value[0]?.confirmationStatus;
    if (status === "confirmed" || status === "finalized") return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${sent} never confirmed`);
}

export async function paymentRows(signature: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM topup_payments WHERE signature = ?")
    .bind(signature)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export async function creditedTransfers(accountId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM ledger_transfers WHERE kind = 'topup' AND account_id = ?",
  )
    .bind(accountId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

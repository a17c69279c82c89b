import type { Address, Rpc, Signature, SolanaRpcApi } from "@solana/kit";

/** The most `getSignaturesForAddress` lists in one call. */
const PAGE = 1000;
/**
 * Pages read per scan at most: 50,000 signatures. A reference is one top-up's own key, so a real one
 * never comes near; the bound only keeps a reference spammed on purpose from costing a scan forever.
 */
const MAX_PAGES = 50;

export interface ReferenceSignature {
  signature: Signature;
  err: unknown;
  confirmationStatus: string | null;
}

/**
 * Every signature naming `reference` newer than `until` (all of them without it), oldest first,
 * paging back with `before` until a short page. One page of 100 (as before) let any 100 later
 * transactions naming a reference hide a payment to it: a payer paying again, or anyone who sends
 * dust naming the reference, buried it for good.
 */
export async function signaturesNaming(
  rpc: Rpc<SolanaRpcApi>,
  reference: Address,
  until?: Signature,
): Promise<ReferenceSignature[]> {
  const newestFirst: ReferenceSignature[] = [];
  let before: Signature | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const found = await rpc
      .getSignaturesForAddress(reference, {
        commitment: "confirmed",
        limit: PAGE,
        ...(before ? { before } : {}),
        ...(until ? { until } : {}),
      })
      .send();
    for (const entry of found)
      newestFirst.push({
        signature: entry.signature,
        err: entry.err,
        confirmationStatus: entry.confirmationStatus ?? null,
      });
    const last = found[found.length - 1];
    if (found.length < PAGE || !last) break;
    before = last.signature;
  }
  return newestFirst.reverse();
}

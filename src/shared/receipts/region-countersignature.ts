import * as ed from "@noble/ed25519";
import { z } from "zod";
import { decodeBase58, encodeBase58 } from "../base58.js";
import { RegionId } from "../regions.js";
import { canonicalJson } from "./canonical-json.js";
import type { SignedUsage } from "./usage-statement.js";

/**
 * The region's countersignature on an agent's usage statement: the region that ran the attempt
 * signs, with its own key, the agent's signed statement together with when it saw the attempt
 * start (the agent's `started` report) and end (its `exited` report) on its own clock. Anyone
 * holding the receipt can check it against the region's published key (GET /v1/regions/:id), so
 * neither the agent's word nor the control plane's alone makes the charge.
 */
export const RegionCountersignature = z
  .object({
    region: RegionId,
    /** When the region saw the attempt start, ms; null when it never saw a `started` report. */
    startedAt: z.number().int().min(0).nullable(),
    endedAt: z.number().int().min(0),
    /** Ed25519 by the region key over the countersigning message, base58. */
    signature: z.string().min(64).max(96),
    /** The region's public key, base58. */
    regionKey: z.string().min(32).max(44),
  })
  .strict();
export type RegionCountersignature = z.infer<typeof RegionCountersignature>;

/** The region's times for one attempt (its own clock, ms). */
export interface RegionTimes {
  startedAt: number | null;
  endedAt: number;
}

/** What the region signs: the agent's whole signed statement and its own times, under a domain tag. */
function countersigningMessage(region: string, usage: SignedUsage, times: RegionTimes): Uint8Array {
  const body = canonicalJson({ region, startedAt: times.startedAt, endedAt: times.endedAt, usage });
  return new TextEncoder().encode(`meridian-region-usage-v1:${body}`);
}

/** A 32-byte ed25519 seed and its public key (base58): one region's signing key. */
export interface RegionKeyPair {
  seed: Uint8Array;
  publicKey: string;
}

export async function countersignUsage(
  region: string,
  usage: SignedUsage,
  times: RegionTimes,
  key: RegionKeyPair,
): Promise<RegionCountersignature> {
  const message = countersigningMessage(region, usage, times);
  const signature = encodeBase58(await ed.signAsync(message, key.seed));
  return { region, ...times, signature, regionKey: key.publicKey };
}

/** Why a countersignature does not hold over `usage`, or null when its key's signature verifies. */
export async function countersignatureProblem(
  usage: SignedUsage,
  countersignature: RegionCountersignature,
): Promise<string | null> {
  const sig = decodeBase58(countersignature.signature);
  const key = decodeBase58(countersignature.regionKey);
  if (sig?.length !== 64 || key?.length !== 32) return "the region's signature or key is malformed";
  const message = countersigningMessage(countersignature.region, usage, countersignature);
  try {
    if (await ed.verifyAsync(sig, message, key)) return null;
  } catch {
    // A key that is not a curve point: as bad as a wrong signature.
  }
  return "the region key's signature does not verify over the statement and the region's times";
}

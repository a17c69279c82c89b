import * as ed from "@noble/ed25519";
import { z } from "zod";
import { decodeBase58, encodeBase58 } from "../base58.js";
import { nodeIdForPublicKey } from "../ids.js";
import { hourlyRate, perSecondCharge } from "../per-second-charge.js";
import { canonicalJson } from "./canonical-json.js";

/**
 * What the agent says an attempt used, signed with its node key at the attempt's end: the job,
 * attempt and node, when it started and ended on the agent's clock, the GPUs it held and their
 * GPU-seconds, and what that comes to at the attempt's price. The region checks the signature
 * against the node's registered key, keeps it and countersigns it with the region's own key
 * (region-countersignature.ts); the charge receipt carries both.
 */
export const UsageStatement = z
  .object({
    v: z.literal(1),
    kind: z.literal("usage"),
    jobId: z.string().min(1).max(64),
    attemptId: z.string().min(1).max(64),
    nodeId: z.string().min(1).max(64),
    /** Null when the container never started (nothing ran, nothing used). */
    startedAt: z.number().int().min(0).nullable(),
    endedAt: z.number().int().min(0),
    gpus: z.number().int().min(0).max(1024),
    gpuSeconds: z.number().int().min(0),
    pricePerGpuHourMicros: z.number().int().min(0),
    /** A CPU-only attempt's hourly price for what it reserves on the node (its vCPUs and memory). */
    cpuHourMicros: z.number().int().min(0).optional(),
    /** GPU-seconds at the price, plus a CPU-only attempt's seconds at its hourly price: µUSD by
     * `perSecondCharge`, the ledger's own per-second rule (seconds and µUSD rounded up; the
     * ledger caps one charge at 1,000,000 USD, far above any statement's reach). */
    amountMicros: z.number().int().min(0),
  })
  .strict();
export type UsageStatement = z.infer<typeof UsageStatement>;

export const SignedUsage = z
  .object({
    statement: UsageStatement,
    /** Ed25519 by the node key over the statement's signing message, base58. */
    signature: z.string().min(64).max(96),
    /** The node's public key, base58: its node id is derived from it, so anyone can check the pair. */
    nodeKey: z.string().min(32).max(44),
  })
  .strict();
export type SignedUsage = z.infer<typeof SignedUsage>;

/** The statement's figures from what the agent saw (times in ms, price from its assignment). */
export function usageStatement(input: {
  jobId: string;
  attemptId: string;
  nodeId: string;
  startedAt: number | null;
  endedAt: number;
  gpus: number;
  pricePerGpuHourMicros: number;
  cpuHourMicros?: number | undefined;
}): UsageStatement {
  const { cpuHourMicros, ...rest } = input;
  const cpu = cpuHourMicros === undefined || cpuHourMicros === 0 ? 0 : cpuHourMicros;
  const rate = hourlyRate({
    pricePerGpuHourMicros: input.pricePerGpuHourMicros,
    gpus: input.gpus,
    cpuHourMicros: cpu,
  });
  const charge =
    input.startedAt === null
      ? { seconds: 0, micros: 0n }
      : perSecondCharge(input.endedAt - input.startedAt, rate);
  return {
    v: 1,
    kind: "usage",
    ...rest,
    ...(cpu > 0 ? { cpuHourMicros: cpu } : {}),
    gpuSeconds: charge.seconds * input.gpus,
    amountMicros: Number(charge.micros),
  };
}

function usageMessage(statement: UsageStatement): Uint8Array {
  return new TextEncoder().encode(`meridian-usage-v1:${canonicalJson(statement)}`);
}

export async function signUsage(
  statement: UsageStatement,
  secretKey: Uint8Array,
  nodeKey: string,
): Promise<SignedUsage> {
  const signature = encodeBase58(await ed.signAsync(usageMessage(statement), secretKey));
  return { statement, signature, nodeKey };
}

/**
 * Why a signed usage statement does not hold, or null when it does: the signature is the node
 * key's over the statement, and the statement's node is the one that key names.
 */
export async function usageProblem(usage: SignedUsage): Promise<string | null> {
  if ((await nodeIdForPublicKey(usage.nodeKey)) !== usage.statement.nodeId)
    return `the key ${usage.nodeKey} is not node ${usage.statement.nodeId}'s`;
  const sig = decodeBase58(usage.signature);
  const key = decodeBase58(usage.nodeKey);
  if (sig?.length !== 64 || key?.length !== 32) return "the signature or key is malformed";
  try {
    if (await ed.verifyAsync(sig, usageMessage(usage.statement), key)) return null;
  } catch {
    // A key that is not a curve point: as bad as a wrong signature.
  }
  return "the node key's signature does not verify";
}

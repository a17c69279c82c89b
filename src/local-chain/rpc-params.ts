import { isAddress, isSignature } from "@solana/kit";
import { RpcError } from "./rpc-error.js";
import type { Commitment } from "./slot-clock.js";

export type Config = Record<string, unknown>;

export function configAt(params: unknown[], index: number): Config {
  const raw = params[index];
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw RpcError.invalidParams("Invalid params: expected a config object");
  return raw as Config;
}

/** A commitment, with the deprecated names Solana still accepts; `finalized` when absent, as on a cluster. */
export function commitmentOf(config: Config, fallback: Commitment = "finalized"): Commitment {
  const raw = config.commitment;
  if (raw === undefined || raw === null) return fallback;
  if (raw === "processed" || raw === "recent") return "processed";
  if (raw === "confirmed" || raw === "single" || raw === "singleGossip") return "confirmed";
  if (raw === "finalized" || raw === "max" || raw === "root") return "finalized";
  throw RpcError.invalidParams(
    `Invalid params: unknown variant \`${String(raw)}\`, expected one of \`processed\`, \`confirmed\`, \`finalized\``,
  );
}

/** Methods that read history refuse `processed`, as Solana's RPC does. */
export function historicalCommitment(config: Config): Commitment {
  const commitment = commitmentOf(config);
  if (commitment === "processed")
    throw RpcError.invalidParams("Method does not support commitment below `confirmed`");
  return commitment;
}

export function addressAt(params: unknown[], index: number): string {
  const raw = params[index];
  if (typeof raw !== "string" || !isAddress(raw)) throw RpcError.invalidParams("Invalid param: Invalid");
  return raw;
}

export function signatureParam(raw: unknown): string {
  if (typeof raw !== "string" || !isSignature(raw)) throw RpcError.invalidParams("Invalid param: Invalid");
  return raw;
}

export function integerAt(params: unknown[], index: number, what: string): bigint {
  const raw = params[index];
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) return BigInt(raw);
  if (typeof raw === "bigint" && raw >= 0n) return raw;
  throw RpcError.invalidParams(`Invalid params: invalid type for ${what}, expected u64`);
}

export function checkMinContextSlot(config: Config, contextSlot: number): void {
  const min = config.minContextSlot;
  if (typeof min === "number" && contextSlot < min) {
    throw new RpcError(-32016, "Minimum context slot has not been reached", { contextSlot });
  }
}

import { MeridianError } from "../../shared/errors.js";
import type { StakeTier } from "../../shared/staking-api.js";

export type { StakeTier };

export interface StakeVars {
  /** How long an unstaked amount waits before it leaves the vault (ms); 14 days by default. */
  STAKE_COOLDOWN_MS?: string;
  /** Share of a node's stake (staked and unbonding) a proven misbehaviour slashes, in basis points. */
  SLASH_SHARE_BPS?: string;
}

export interface StakeConfig {
  cooldownMs: number;
  slashShareBps: number;
}

/** io.net's unstaking cooldown. */
export const DEFAULT_STAKE_COOLDOWN_MS = 14 * 86_400_000;
/** A tenth: enough to cost a cheater more than a rejected verification's lost work, not a wipe-out. */
export const DEFAULT_SLASH_SHARE_BPS = 1_000;

/** Whole MRD staked for each listing tier, lowest first (the seed's tiers of stake per device). */
export const STAKE_TIERS = [
  { tier: "bronze", minMrd: 100n },
  { tier: "silver", minMrd: 1_000n },
  { tier: "gold", minMrd: 10_000n },
] as const satisfies readonly { tier: Exclude<StakeTier, "none">; minMrd: bigint }[];

const MRD_UNIT = 1_000_000n;

export function tierFor(stakedBase: bigint): StakeTier {
  let tier: StakeTier = "none";
  for (const step of STAKE_TIERS) if (stakedBase >= step.minMrd * MRD_UNIT) tier = step.tier;
  return tier;
}

function positiveInt(raw: string | undefined, fallback: number, name: string, max: number): number {
  const value = raw ? Number(raw) : fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new MeridianError(503, "staking_misconfigured", `${name} must be an integer from 1 to ${max}`);
  }
  return value;
}

export function stakeConfig(env: object): StakeConfig {
  const vars = env as StakeVars;
  return {
    cooldownMs: positiveInt(
      vars.STAKE_COOLDOWN_MS,
      DEFAULT_STAKE_COOLDOWN_MS,
      "STAKE_COOLDOWN_MS",
      Number.MAX_SAFE_INTEGER,
    ),
    slashShareBps: positiveInt(vars.SLASH_SHARE_BPS, DEFAULT_SLASH_SHARE_BPS, "SLASH_SHARE_BPS", 10_000),
  };
}

import type { z } from "zod";
import { type GpuModel, gpuModelById } from "../gpu-catalog.js";
import type {
  ChallengeRelease,
  VerificationChallenge,
  VerificationCommit,
  VerificationJudgement,
} from "./messages.js";
import type { SpotCheckPlan } from "./spot-check.js";
import { VerificationError } from "./verification-error.js";
import type { WalkPlan } from "./walk-check.js";

/**
 * The memory phase once committed, region-timed: the fill's release (the working set's seed), the
 * walk's release (the lanes' seed, drawn when the agent said filled), and the walk's root.
 */
export interface MemoryPhase {
  fill: ChallengeRelease;
  release: ChallengeRelease;
  root: string;
  committedAt: number;
}

/**
 * One challenge's life, as plain JSON the Region object keeps in its storage:
 * issued → memory (the fill's seed released) → walk (the walk's seed) → released (the compute
 * seed) → committed → judged; a challenge without a memory phase goes from issued to released. Issued carries no seed: the
 * agent prepares, says ready, and only then is a seed drawn, so each window times its phase and
 * not the setup. A refused message (a thrown VerificationError) leaves the record as it was.
 */
export type ChallengeRecord =
  | { state: "issued"; challenge: VerificationChallenge }
  | { state: "memory"; challenge: VerificationChallenge; memoryRelease: ChallengeRelease }
  | {
      state: "walk";
      challenge: VerificationChallenge;
      memoryRelease: ChallengeRelease;
      walkRelease: ChallengeRelease;
    }
  | {
      state: "released";
      challenge: VerificationChallenge;
      release: ChallengeRelease;
      memory?: MemoryPhase;
    }
  | {
      state: "committed";
      challenge: VerificationChallenge;
      release: ChallengeRelease;
      memory?: MemoryPhase;
      commit: VerificationCommit;
      commitReceivedAt: number;
      plan: SpotCheckPlan;
      walkPlan?: WalkPlan;
      answerBy: number;
    }
  | { state: "judged"; challenge: VerificationChallenge; judgement: VerificationJudgement };

/** Where the lifecycle looks models up: the catalogue, or (in unit tests) a scaled copy of it. */
export type ModelLookup = (id: string) => GpuModel | undefined;

export function modelOf(id: string, models: ModelLookup = gpuModelById): GpuModel {
  const model = models(id);
  if (model === undefined) {
    throw new VerificationError(
      "unknown_gpu_model",
      `${id} is not in the GPU catalogue; it cannot be verified`,
    );
  }
  return model;
}

/** When the Region's alarm should look at this record next; undefined once judged. */
export function deadlineOf(record: ChallengeRecord): number | undefined {
  if (record.state === "issued") return record.challenge.readyBy;
  if (record.state === "memory") return record.memoryRelease.expiresAt;
  if (record.state === "walk") return record.walkRelease.expiresAt;
  if (record.state === "released") return record.release.expiresAt;
  if (record.state === "committed") return record.answerBy;
  return undefined;
}

export function checkSender(record: ChallengeRecord, challengeId: string, nodeId: string): void {
  if (challengeId !== record.challenge.id) {
    throw new VerificationError("challenge_mismatch", `no challenge ${challengeId} is open here`);
  }
  if (nodeId !== record.challenge.nodeId) {
    throw new VerificationError("challenge_not_yours", `challenge ${challengeId} was issued to another node`);
  }
}

export function parseOrRefuse<T>(
  schema: z.ZodType<T>,
  body: unknown,
  code: "invalid_ready" | "invalid_commit" | "invalid_answer",
): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new VerificationError(code, `the ${code.slice(8)} is malformed`, parsed.error.issues);
  return parsed.data;
}

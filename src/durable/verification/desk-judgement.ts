import { type GpuModel, gpuModelById } from "../../shared/gpu-catalog.js";
import type { ChallengeRecord, ModelLookup } from "../../shared/verification/challenge-lifecycle.js";
import type { VerificationJudgement } from "../../shared/verification/messages.js";
import type { RandomBytes } from "../../shared/verification/random-source.js";
import {
  estimateChallengeGpuMs,
  nextChallengeDelayMs,
  targetFractionFor,
} from "../../shared/verification/rechallenge-schedule.js";
import { holdSuspect } from "./foreign-twins.js";
import type { GpuVerification } from "./node-verification.js";

/**
 * Records a judgement on its GPU and plans the next challenge. The interval is planned from the
 * claimed part's estimate alone (`busyMs`): nothing the agent reports (a `totalMs` of 10^12 once
 * made the next challenge millennia away) and nothing it controls (how slowly it answers) moves it.
 */
export function recordJudgement(
  gpu: GpuVerification,
  record: ChallengeRecord,
  previous: ChallengeRecord,
  judgement: VerificationJudgement,
  options: { random: RandomBytes; targetFraction?: number | undefined; models?: ModelLookup | undefined },
): void {
  gpu.challenge = record;
  gpu.outcome = judgement.outcome;
  gpu.reasons = judgement.reasons;
  gpu.lastJudgedAt = judgement.judgedAt;
  // Each challenge attests afresh: a judgement without evidence (or a missed deadline) leaves none.
  gpu.attestation = judgement.attestation ?? null;
  if (judgement.measured) {
    gpu.measured = {
      tflops: judgement.measured.tflops,
      bandwidthGBps: judgement.measured.bandwidthGBps,
      ...(judgement.measured.provenVramMib !== undefined
        ? { provenVramMib: judgement.measured.provenVramMib }
        : {}),
    };
  }
  // A judgement without a memory phase lists the GPU as it claimed; one with lists what it measured as.
  const listedAs = judgement.listedAs === undefined ? gpu.model : judgement.listedAs;
  // Consecutive passes as the same part: a long clean history is re-challenged less often.
  // A pass as another part than last time starts the count again (something changed).
  const same = gpu.listedAs === undefined || gpu.listedAs === listedAs;
  const cleanPasses = judgement.outcome !== "verified" ? 0 : same ? (gpu.cleanPasses ?? 0) + 1 : 1;
  gpu.cleanPasses = cleanPasses;
  gpu.listedAs = listedAs;
  if (judgement.outcome === "verified") gpu.lastVerifiedAt = judgement.judgedAt;
  holdSuspect(gpu);
  const model: GpuModel | undefined = (options.models ?? gpuModelById)(previous.challenge.model);
  const delay = nextChallengeDelayMs({
    outcome: judgement.outcome,
    busyMs: model ? estimateChallengeGpuMs(model, previous.challenge, previous.challenge.memory) : 0,
    random: options.random,
    targetFraction: options.targetFraction ?? targetFractionFor(cleanPasses),
  });
  gpu.nextChallengeAt = delay === undefined ? null : judgement.judgedAt + delay;
}

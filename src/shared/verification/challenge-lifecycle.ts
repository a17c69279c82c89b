import type { AttestationVerdict } from "./attestation/attestation-messages.js";
import { judgeAttestation } from "./attestation-judgement.js";
import {
  type ChallengeRecord,
  checkSender,
  deadlineOf,
  type MemoryPhase,
  type ModelLookup,
  modelOf,
  parseOrRefuse,
} from "./challenge-record.js";
import { checkOpenings } from "./cpu-verifier.js";
import { type Finding, judgeMeasurements, type Measured, worstOutcome } from "./judgement.js";
import { judgeMemory } from "./memory-judgement.js";
import {
  type SpotCheckRequest,
  VerificationAnswer,
  type VerificationChallenge,
  VerificationCommit,
  type VerificationJudgement,
} from "./messages.js";
import { cryptoRandomBytes, type RandomBytes } from "./random-source.js";
import { planSpotChecks } from "./spot-check.js";
import { ANSWER_WINDOW_MS, SPOT_CHECK_COLUMNS_PER_LEAF, SPOT_CHECK_LEAVES } from "./thresholds.js";
import { VerificationError } from "./verification-error.js";
import { planWalkChecks, WALK_CHECKS } from "./walk-check.js";

export type { ChallengeRecord, MemoryPhase, ModelLookup } from "./challenge-record.js";
export { acceptReady, type IssueInput, issueChallenge, type ReadyContext } from "./challenge-release.js";
export { deadlineOf };

/**
 * The rest of a challenge's life (challenge-record.ts): the commit draws the spot checks, the
 * answer is checked and judged, the alarm expires what missed a deadline. Every function here is
 * pure apart from the randomness it is given.
 */

export interface CommitContext {
  /** The node that signed the request. */
  nodeId: string;
  now: number;
  random?: RandomBytes;
}

/**
 * The agent's commitment arrived: record it and draw the spot checks. Send back the returned
 * request. Throws for a message that is malformed, not this node's, replayed or late.
 */
export function acceptCommit(
  record: ChallengeRecord,
  body: unknown,
  context: CommitContext,
): { record: ChallengeRecord & { state: "committed" }; request: SpotCheckRequest } {
  const commit = parseOrRefuse(VerificationCommit, body, "invalid_commit");
  checkSender(record, commit.challengeId, context.nodeId);
  if (record.state === "issued" || record.state === "memory" || record.state === "walk") {
    throw new VerificationError(
      "challenge_not_released",
      `challenge ${commit.challengeId} has no seed yet: send ready first`,
    );
  }
  if (record.state !== "released") {
    throw new VerificationError(
      "challenge_replayed",
      `challenge ${commit.challengeId} was already committed to`,
    );
  }
  const { challenge, release, memory } = record;
  if (context.now > release.expiresAt) {
    throw new VerificationError(
      "challenge_expired",
      `the commit for ${challenge.id} came after its deadline`,
    );
  }
  const random = context.random ?? cryptoRandomBytes;
  const plan = planSpotChecks(
    challenge.n,
    challenge.blocks,
    SPOT_CHECK_LEAVES,
    SPOT_CHECK_COLUMNS_PER_LEAF,
    random,
  );
  const walkPlan = challenge.memory ? planWalkChecks(challenge.memory, WALK_CHECKS, random) : undefined;
  const answerBy = context.now + ANSWER_WINDOW_MS;
  return {
    record: {
      state: "committed",
      challenge,
      release,
      ...(memory ? { memory } : {}),
      commit,
      commitReceivedAt: context.now,
      plan,
      ...(walkPlan ? { walkPlan } : {}),
      answerBy,
    },
    request: {
      challengeId: challenge.id,
      leaves: plan.leaves,
      ...(walkPlan ? { walkGroups: walkPlan.groups } : {}),
      answerBy,
    },
  };
}

function judged(
  challenge: VerificationChallenge,
  findings: readonly Finding[],
  checkedEntries: number,
  now: number,
  measured?: Measured,
  listedAs?: string | null,
  attestation?: AttestationVerdict,
): { record: ChallengeRecord & { state: "judged" }; judgement: VerificationJudgement } {
  const judgement: VerificationJudgement = {
    challengeId: challenge.id,
    nodeId: challenge.nodeId,
    gpuUuid: challenge.gpuUuid,
    model: challenge.model,
    outcome: worstOutcome(findings.map((finding) => finding.outcome)),
    reasons: findings.flatMap((finding) => (finding.reason ? [finding.reason] : [])),
    ...(measured ? { measured } : {}),
    ...(listedAs !== undefined ? { listedAs } : {}),
    ...(attestation ? { attestation } : {}),
    checkedEntries,
    judgedAt: now,
  };
  return { record: { state: "judged", challenge, judgement }, judgement };
}

export interface AnswerContext {
  nodeId: string;
  now: number;
  models?: ModelLookup;
}

/**
 * The agent opened the requested rows: check them on the CPU and judge the node. A wrong opening
 * or entry is a judgement (rejected), not a refusal; refusals are as for `acceptCommit`.
 */
export async function acceptAnswer(
  record: ChallengeRecord,
  body: unknown,
  context: AnswerContext,
): Promise<{ record: ChallengeRecord & { state: "judged" }; judgement: VerificationJudgement }> {
  const answer = parseOrRefuse(VerificationAnswer, body, "invalid_answer");
  checkSender(record, answer.challengeId, context.nodeId);
  if (
    record.state === "issued" ||
    record.state === "memory" ||
    record.state === "walk" ||
    record.state === "released"
  ) {
    throw new VerificationError(
      "challenge_not_committed",
      `challenge ${answer.challengeId} has no commitment yet`,
    );
  }
  if (record.state === "judged") {
    throw new VerificationError("challenge_replayed", `challenge ${answer.challengeId} was already answered`);
  }
  if (context.now > record.answerBy) {
    throw new VerificationError(
      "challenge_expired",
      `the answer for ${answer.challengeId} came after its deadline`,
    );
  }
  const { challenge, release, commit } = record;
  // A record stored before the walk had its own seed (an upgrade mid-challenge) has no fill
  // release: its walk cannot be replayed, so it proves nothing either way and is asked again.
  if (record.memory !== undefined && (record.memory as Partial<MemoryPhase>).fill === undefined) {
    const reason = {
      code: "protocol_changed",
      message: `challenge ${challenge.id}'s memory phase began before the walk had its own seed: it proves nothing and the GPU is challenged again`,
    };
    return judged(challenge, [{ outcome: "suspect", reason }], 0, context.now, undefined, null);
  }
  // First, so evidence the challenge did not ask for is refused before any work.
  const attested = await judgeAttestation(challenge, answer.attestation, context.now);
  const model = modelOf(challenge.model, context.models);
  const openings = await checkOpenings(challenge, release.seed, commit.root, record.plan, answer);
  const performance = judgeMeasurements(
    model,
    challenge,
    commit,
    record.commitReceivedAt - release.releasedAt,
  );
  const integrity: Finding[] = openings.failures.map((reason) => ({ outcome: "rejected" as const, reason }));
  if (!challenge.memory || !record.memory || !record.walkPlan) {
    const findings = [...integrity, ...performance.findings, ...attested.findings];
    return judged(
      challenge,
      findings,
      openings.checkedEntries,
      context.now,
      performance.measured,
      undefined,
      attested.verdict,
    );
  }
  const memory = await judgeMemory({
    model,
    challenge,
    spec: challenge.memory,
    phase: record.memory,
    plan: record.walkPlan,
    openings: answer.walk ?? [],
    compute: performance,
    ...(context.models ? { catalogue: context.models } : {}),
  });
  return judged(
    challenge,
    [...integrity, ...memory.findings, ...attested.findings],
    openings.checkedEntries,
    context.now,
    memory.measured,
    memory.listedAs,
    attested.verdict,
  );
}

/** For the alarm: a challenge past its deadline without the message it waited for is rejected. */
export function expireChallenge(
  record: ChallengeRecord,
  now: number,
): { record: ChallengeRecord & { state: "judged" }; judgement: VerificationJudgement } | undefined {
  const deadline = deadlineOf(record);
  if (deadline === undefined || now <= deadline) return undefined;
  const waitingFor = {
    issued: "ready",
    memory: "filled",
    walk: "memory commit",
    released: "commit",
    committed: "answer",
    judged: "",
  }[record.state];
  return judged(
    record.challenge,
    [
      {
        outcome: "rejected",
        reason: {
          code: "deadline_missed",
          message: `no ${waitingFor} for ${record.challenge.id} by its deadline`,
        },
      },
    ],
    0,
    now,
  );
}

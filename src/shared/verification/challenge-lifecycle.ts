import type { z } from "zod";
import { type GpuModel, gpuModelById } from "../gpu-catalog.js";
import { toHex } from "./bytes.js";
import type { ChallengeDtype } from "./canonical-value.js";
import {
  type ChallengeSize,
  challengeSizeFor,
  commitWindowMs,
  DEFAULT_WINDOW,
  type WindowOptions,
} from "./challenge-size.js";
import { checkOpenings } from "./cpu-verifier.js";
import { type Finding, judgeMeasurements, type Measured, worstOutcome } from "./judgement.js";
import {
  ChallengeReady,
  type ChallengeRelease,
  type SpotCheckRequest,
  VerificationAnswer,
  VerificationChallenge,
  VerificationCommit,
  type VerificationJudgement,
} from "./messages.js";
import { cryptoRandomBytes, type RandomBytes } from "./random-source.js";
import { planSpotChecks, type SpotCheckPlan } from "./spot-check.js";
import { ANSWER_WINDOW_MS, SPOT_CHECK_COLUMNS_PER_LEAF, SPOT_CHECK_LEAVES } from "./thresholds.js";
import { VerificationError } from "./verification-error.js";

/**
 * One challenge's life, as plain JSON the Region object keeps in its storage:
 * issued → released → committed → judged. Issued carries no seed: the agent prepares, says ready,
 * and only then is the seed drawn and released, so the commit window times the products and not
 * the setup. Every function here is pure apart from the randomness it is given; a refused message
 * (a thrown VerificationError) leaves the record as it was.
 */
export type ChallengeRecord =
  | { state: "issued"; challenge: VerificationChallenge }
  | { state: "released"; challenge: VerificationChallenge; release: ChallengeRelease }
  | {
      state: "committed";
      challenge: VerificationChallenge;
      release: ChallengeRelease;
      commit: VerificationCommit;
      commitReceivedAt: number;
      plan: SpotCheckPlan;
      answerBy: number;
    }
  | { state: "judged"; challenge: VerificationChallenge; judgement: VerificationJudgement };

export interface IssueInput {
  nodeId: string;
  gpu: { uuid: string; model: string; vramMib: number };
  now: number;
  dtype?: ChallengeDtype;
  /** Overrides the catalogue-derived size (tests use small matrices). */
  size?: Partial<ChallengeSize>;
  window?: WindowOptions;
  random?: RandomBytes;
  models?: ModelLookup;
}

/** Where the lifecycle looks models up: the catalogue, or (in unit tests) a scaled copy of it. */
export type ModelLookup = (id: string) => GpuModel | undefined;

function modelOf(id: string, models: ModelLookup = gpuModelById): GpuModel {
  const model = models(id);
  if (model === undefined) {
    throw new VerificationError(
      "unknown_gpu_model",
      `${id} is not in the GPU catalogue; it cannot be verified`,
    );
  }
  return model;
}

/** A fresh challenge for one GPU of a node. Store the record, then send `record.challenge`. */
export function issueChallenge(input: IssueInput): ChallengeRecord & { state: "issued" } {
  const model = modelOf(input.gpu.model, input.models);
  const random = input.random ?? cryptoRandomBytes;
  const size: ChallengeSize = { ...challengeSizeFor(model, input.dtype), ...input.size };
  const window = input.window ?? DEFAULT_WINDOW;
  const challenge = VerificationChallenge.parse({
    id: `vch_${toHex(random(16))}`,
    nodeId: input.nodeId,
    gpuUuid: input.gpu.uuid,
    model: model.id,
    vramMib: input.gpu.vramMib,
    n: size.n,
    blocks: size.blocks,
    dtype: size.dtype,
    bandwidthBytes: size.bandwidthBytes,
    issuedAt: input.now,
    readyBy: input.now + window.readyAllowanceMs,
  });
  return { state: "issued", challenge };
}

/** When the Region's alarm should look at this record next; undefined once judged. */
export function deadlineOf(record: ChallengeRecord): number | undefined {
  if (record.state === "issued") return record.challenge.readyBy;
  if (record.state === "released") return record.release.expiresAt;
  if (record.state === "committed") return record.answerBy;
  return undefined;
}

function checkSender(record: ChallengeRecord, challengeId: string, nodeId: string): void {
  if (challengeId !== record.challenge.id) {
    throw new VerificationError("challenge_mismatch", `no challenge ${challengeId} is open here`);
  }
  if (nodeId !== record.challenge.nodeId) {
    throw new VerificationError("challenge_not_yours", `challenge ${challengeId} was issued to another node`);
  }
}

function parseOrRefuse<T>(
  schema: z.ZodType<T>,
  body: unknown,
  code: "invalid_ready" | "invalid_commit" | "invalid_answer",
): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new VerificationError(code, `the ${code.slice(8)} is malformed`, parsed.error.issues);
  return parsed.data;
}

export interface ReadyContext {
  /** The node that signed the request. */
  nodeId: string;
  now: number;
  random?: RandomBytes;
  window?: WindowOptions;
  models?: ModelLookup;
}

/**
 * The agent has prepared: draw the seed and start the commit window. A repeated ready (its answer
 * was lost) gets the same release back — same seed, same deadline, so it gains nothing; after the
 * commit it is a replay. Throws for a ready that is malformed, not this node's or late.
 */
export function acceptReady(
  record: ChallengeRecord,
  body: unknown,
  context: ReadyContext,
): { record: ChallengeRecord & { state: "released" }; release: ChallengeRelease } {
  const ready = parseOrRefuse(ChallengeReady, body, "invalid_ready");
  checkSender(record, ready.challengeId, context.nodeId);
  if (record.state === "released") return { record, release: record.release };
  if (record.state !== "issued") {
    throw new VerificationError("challenge_replayed", `challenge ${ready.challengeId} was already released`);
  }
  const { challenge } = record;
  if (context.now > challenge.readyBy) {
    throw new VerificationError(
      "challenge_expired",
      `the ready for ${challenge.id} came after its setup deadline`,
    );
  }
  const random = context.random ?? cryptoRandomBytes;
  const release: ChallengeRelease = {
    challengeId: challenge.id,
    seed: toHex(random(32)),
    releasedAt: context.now,
    expiresAt:
      context.now + commitWindowMs(modelOf(challenge.model, context.models), challenge, context.window),
  };
  return { record: { state: "released", challenge, release }, release };
}

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
  if (record.state === "issued") {
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
  const { challenge, release } = record;
  if (context.now > release.expiresAt) {
    throw new VerificationError(
      "challenge_expired",
      `the commit for ${challenge.id} came after its deadline`,
    );
  }
  const plan = planSpotChecks(
    challenge.n,
    challenge.blocks,
    SPOT_CHECK_LEAVES,
    SPOT_CHECK_COLUMNS_PER_LEAF,
    context.random ?? cryptoRandomBytes,
  );
  const answerBy = context.now + ANSWER_WINDOW_MS;
  return {
    record: {
      state: "committed",
      challenge,
      release,
      commit,
      commitReceivedAt: context.now,
      plan,
      answerBy,
    },
    request: { challengeId: challenge.id, leaves: plan.leaves, answerBy },
  };
}

function judged(
  challenge: VerificationChallenge,
  findings: readonly Finding[],
  checkedEntries: number,
  now: number,
  measured?: Measured,
): { record: ChallengeRecord & { state: "judged" }; judgement: VerificationJudgement } {
  const judgement: VerificationJudgement = {
    challengeId: challenge.id,
    nodeId: challenge.nodeId,
    gpuUuid: challenge.gpuUuid,
    model: challenge.model,
    outcome: worstOutcome(findings.map((finding) => finding.outcome)),
    reasons: findings.flatMap((finding) => (finding.reason ? [finding.reason] : [])),
    ...(measured ? { measured } : {}),
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
  if (record.state === "issued" || record.state === "released") {
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
  const openings = await checkOpenings(challenge, release.seed, commit.root, record.plan, answer);
  const performance = judgeMeasurements(
    modelOf(challenge.model, context.models),
    challenge,
    commit,
    record.commitReceivedAt - release.releasedAt,
  );
  const findings: Finding[] = [
    ...openings.failures.map((reason) => ({ outcome: "rejected" as const, reason })),
    ...performance.findings,
  ];
  return judged(challenge, findings, openings.checkedEntries, context.now, performance.measured);
}

/** For the alarm: a challenge past its deadline without the message it waited for is rejected. */
export function expireChallenge(
  record: ChallengeRecord,
  now: number,
): { record: ChallengeRecord & { state: "judged" }; judgement: VerificationJudgement } | undefined {
  const deadline = deadlineOf(record);
  if (deadline === undefined || now <= deadline) return undefined;
  const waitingFor = record.state === "issued" ? "ready" : record.state === "released" ? "commit" : "answer";
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

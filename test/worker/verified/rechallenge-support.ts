import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import type { NodeVerification } from "../../../src/durable/verification/node-verification.js";
import { VerificationDesk } from "../../../src/durable/verification-desk.js";
import type { HardwareReport } from "../../../src/shared/hardware.js";
import { computeProduct, openLeaves } from "../../../src/shared/verification/cpu-benchmark.js";
import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationChallenge,
  VerificationJudgement,
} from "../../../src/shared/verification/messages.js";
import { h100Figures, scaledMs, testModels } from "../../verification/support.js";
import { regionObject, type TestAgent } from "../support.js";

/**
 * A signed test agent that answers proof-of-GPU challenges honestly through the real routes of the
 * real Region object (REQUIRE_VERIFIED_GPUS=true), and the handles a test needs on the object's
 * clock. A production-size challenge cannot be answered on a CPU, so the object's desk is swapped
 * for one issuing small challenges against the scaled catalogue of test/verification/support.ts
 * (every other rule as deployed): the products take about as long as a scaled H100 would, on the
 * object's own clock, release to commit.
 */

/** The pace the honest agent commits at, TFLOP/s (unscaled). */
const PACE_TFLOPS = 930;

// About 2.8 s of products at that pace: long enough that a loaded machine's request latency
// (under the ~0.9 s of slack the 70% threshold leaves) does not fail an honest answer.
const SMALL = { size: { n: 32, blocks: 2 }, memory: null, models: testModels } as const;

interface RegionInternals {
  standing: { desk: VerificationDesk };
  state: {
    nodes: Map<string, { id: string; hardware: HardwareReport }>;
    leases: Map<string, number>;
  };
  challenges: { sweep(now: number): void };
  save(): Promise<void>;
}

interface DeskInternals {
  nodes: Map<string, NodeVerification>;
  touch(nodeId: string): void;
}

async function inRegion<T>(work: (region: RegionInternals) => Promise<T> | T): Promise<T> {
  return runInDurableObject(regionObject(), (instance) => work(instance as unknown as RegionInternals));
}

/** Swaps in a desk of small challenges; the node starts over, unverified and due now. */
export async function smallChallengesFor(nodeId: string): Promise<void> {
  await inRegion(async (region) => {
    const node = region.state.nodes.get(nodeId);
    if (!node) throw new Error(`no node ${nodeId}`);
    const stored = region.standing.desk.toJSON();
    delete stored[nodeId];
    const desk = VerificationDesk.from(stored, { ...SMALL, requireVerified: true });
    desk.onRegistered(node, Date.now());
    region.standing.desk = desk;
    await region.save();
  });
}

/** When the desk plans the node's next challenge (its random re-challenge time). */
export async function plannedChallengeAt(nodeId: string): Promise<number | null> {
  return inRegion((region) => region.standing.desk.status(nodeId)?.nextChallengeAt ?? null);
}

/**
 * The object's clock reaches the planned re-challenge: the plan is moved to now (the delay is
 * random, and tens of minutes at the least, so the test moves the plan rather than wait for it).
 */
export async function reachPlannedChallenge(nodeId: string): Promise<void> {
  await inRegion(async (region) => {
    const desk = region.standing.desk as unknown as DeskInternals;
    const node = desk.nodes.get(nodeId);
    if (!node) throw new Error(`the desk has no node ${nodeId}`);
    for (const gpu of node.gpus) gpu.nextChallengeAt = Date.now();
    desk.touch(nodeId);
    await region.save();
  });
}

/** The object's alarm sweep, run with its clock `aheadMs` later (past every challenge window). */
export async function sweepLater(aheadMs: number): Promise<void> {
  await inRegion(async (region) => {
    region.challenges.sweep(Date.now() + aheadMs);
    await region.save();
  });
}

/** When an attempt's lease expires, as the object holds it; undefined without a lease. */
export async function leaseOf(attemptId: string): Promise<number | undefined> {
  return inRegion((region) => region.state.leases.get(attemptId));
}

async function step<T>(
  agent: TestAgent,
  challenge: VerificationChallenge,
  name: string,
  body: unknown,
): Promise<T> {
  const res = await agent.send(`/v1/agent/challenges/${challenge.id}/${name}`, body);
  expect(res.status, `${name}: ${res.status}`).toBe(200);
  return (await res.json()) as T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The honest agent's exchange for one challenge, as the real agent runs it: ready (the seed is
 * released), the products (taking a scaled H100's time), commit, open the spot-checked rows.
 * `between` runs while the products compute: the node's other work goes on meanwhile.
 */
export async function answerHonestly(
  agent: TestAgent,
  challenge: VerificationChallenge,
  between: () => Promise<void> = async () => {},
): Promise<VerificationJudgement> {
  const release = await step<ChallengeRelease>(agent, challenge, "ready", { challengeId: challenge.id });
  const product = await computeProduct(challenge, release.seed);
  await between();
  // The products of a scaled H100 at 930 TFLOP/s (94% of its datasheet): the region times release
  // to commit, so the commit's own trip may take a third longer and still pass the 70% threshold.
  const left = release.releasedAt + scaledMs(challenge, PACE_TFLOPS) * 1.02 - Date.now();
  if (left > 0) await sleep(left);
  const request = await step<SpotCheckRequest>(agent, challenge, "commit", {
    challengeId: challenge.id,
    root: product.root,
    measured: h100Figures(challenge, PACE_TFLOPS),
    runner: { mode: "host-process", backend: "test", device: "NVIDIA H100 80GB HBM3" },
  });
  const verdict = await step<{ judgement: VerificationJudgement }>(
    agent,
    challenge,
    "answer",
    openLeaves(product, request),
  );
  return verdict.judgement;
}

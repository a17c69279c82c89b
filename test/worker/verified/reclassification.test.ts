import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { recordJudgement } from "../../../src/durable/verification/desk-judgement.js";
import type { NodeVerification } from "../../../src/durable/verification/node-verification.js";
import type { ChallengeRecord } from "../../../src/shared/verification/challenge-lifecycle.js";
import type { VerificationJudgement } from "../../../src/shared/verification/messages.js";
import { cryptoRandomBytes } from "../../../src/shared/verification/random-source.js";
import {
  authed,
  call,
  drainAgents,
  H100,
  hardware,
  jobOf,
  ownedAgent,
  regionObject,
  signup,
  submit,
  type TestAgent,
} from "../support.js";

/**
 * Issue 14: a GPU re-classified by a later challenge (an H100-SXM that now measures as an
 * H100-PCIe, still verified, so its eligibility does not change) is listed, matched and priced as
 * the new part at once, in the real Region object with verified GPUs required.
 *
 * A production-size challenge cannot be answered on a CPU, so the judgements are recorded with the
 * desk's own `recordJudgement`, on the desk the Region object holds, as `answer` would after its
 * checks. The first goes through the answer's own follow-up (the judged nodes re-indexed); the
 * second is left to the Region object's alarm, the path that once looked only at eligibility.
 */

interface DeskInternals {
  standing: {
    desk: { nodes: Map<string, NodeVerification>; touch(nodeId: string): void };
  };
  challenges: { judged(judgements: readonly VerificationJudgement[], now: number): void };
  save(): Promise<void>;
}

const gpu = { ...H100, uuid: "GPU-0000d0d0-5e5e-0000-0000-000000000000" };
const base = {
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  timeoutSeconds: 600,
  maxPricePerGpuHour: "5.00",
};

/** Records a verified judgement listing the node's GPU as `listedAs`, measured at `tflops`. */
async function judge(
  nodeId: string,
  listedAs: string,
  tflops: number,
  via: "answer" | "alarm",
): Promise<void> {
  await runInDurableObject(regionObject(), async (instance) => {
    const region = instance as unknown as DeskInternals;
    const node = region.standing.desk.nodes.get(nodeId);
    const target = node?.gpus[0];
    const previous: ChallengeRecord | null | undefined = target?.challenge;
    if (!target || !previous) throw new Error(`no challenge was issued to ${nodeId}`);
    const now = Date.now();
    const judgement: VerificationJudgement = {
      challengeId: previous.challenge.id,
      nodeId,
      gpuUuid: target.uuid,
      model: "H100-SXM",
      outcome: "verified",
      reasons: [{ code: "listed_as_measured", message: `measured as a ${listedAs}` }],
      measured: {
        tflops,
        elapsedMs: 25_000,
        claimedTflops: 989,
        bandwidthGBps: 2_600,
        vramAllocatedMib: 79_000,
        computeRatio: tflops / 989,
        bandwidthRatio: 2_600 / 3_350,
        vramRatio: 0.97,
        memoryElapsedMs: 4_000,
        provenVramMib: 70_000,
      },
      listedAs,
      checkedEntries: 64,
      judgedAt: now,
    };
    recordJudgement(
      target,
      { state: "judged", challenge: previous.challenge, judgement },
      previous,
      judgement,
      {
        random: cryptoRandomBytes,
      },
    );
    region.standing.desk.touch(nodeId);
    if (via === "answer") region.challenges.judged([judgement], now);
    await region.save();
  });
  if (via === "alarm") expect(await runDurableObjectAlarm(regionObject())).toBe(true);
}

interface ListedNode {
  id: string;
  gpus: { model: string | null; claimedModel: string | null; vramGb: number }[];
  verification: string;
  verifiedTflops: number | null;
  pricePerVerifiedTflopHour: string | null;
}

async function listed(apiKey: string, nodeId: string): Promise<ListedNode | undefined> {
  const res = await call("/v1/nodes", authed(apiKey));
  expect(res.status).toBe(200);
  return ((await res.json()) as { nodes: ListedNode[] }).nodes.find((n) => n.id === nodeId);
}

/** Submits a one-GPU job for `models` and returns whether the agent's next poll carries it. */
async function placedOn(apiKey: string, agent: TestAgent, models: string[]): Promise<boolean> {
  const res = await submit(apiKey, {
    ...base,
    name: `wants-${models.join("-")}`,
    resources: { gpus: 1, gpuModels: models },
  });
  expect(res.status).toBe(201);
  const jobId = ((await res.json()) as { id: string }).id;
  const assignment = (await agent.poll()).assignments.find((a) => a.jobId === jobId);
  if (assignment) {
    await agent.start(assignment);
    await agent.exit(assignment, 0);
    expect((await jobOf(apiKey, jobId)).status).toBe("succeeded");
    return true;
  }
  expect((await jobOf(apiKey, jobId)).status).toBe("queued");
  await call(`/v1/jobs/${jobId}/cancel`, authed(apiKey, "POST"));
  return false;
}

describe("a GPU re-classified with its eligibility unchanged", { timeout: 30_000 }, () => {
  afterEach(drainAgents);

  it("is listed, matched and priced as the part it now measures as, at once", async () => {
    const user = await signup();
    const { agent } = await ownedAgent(hardware([gpu]));
    expect((await agent.poll()).challenges).toHaveLength(1);
    // Unverified, with verified GPUs required: no GPU work yet.
    expect(await placedOn(user.apiKey, agent, ["H100-SXM"])).toBe(false);

    await judge(agent.nodeId, "H100-SXM", 780, "answer");
    const asSxm = await listed(user.apiKey, agent.nodeId);
    expect(asSxm).toMatchObject({ verification: "verified", verifiedTflops: 780 });
    expect(asSxm?.gpus[0]).toMatchObject({ model: "H100-SXM", claimedModel: "H100-SXM", vramGb: 79.6 });
    const sxmPrice = Number(asSxm?.pricePerVerifiedTflopHour);
    expect(await placedOn(user.apiKey, agent, ["H100-SXM"])).toBe(true);

    // A re-challenge (due at once here: the issued record is reused) measures it as a PCIe card.
    // Still verified, so eligibility is unchanged: only the alarm's sweep sees the change.
    await judge(agent.nodeId, "H100-PCIE", 600, "alarm");
    const asPcie = await listed(user.apiKey, agent.nodeId);
    expect(asPcie).toMatchObject({ verification: "verified", verifiedTflops: 600 });
    expect(asPcie?.gpus[0]).toMatchObject({ model: "H100-PCIE", claimedModel: "H100-SXM" });
    // The same asking price buys fewer verified TFLOP/s: the price per verified TFLOP-hour rises.
    expect(Number(asPcie?.pricePerVerifiedTflopHour)).toBeGreaterThan(sxmPrice);
    // Matched as the part it measured as: an SXM job waits, a PCIe job runs on it.
    expect(await placedOn(user.apiKey, agent, ["H100-SXM"])).toBe(false);
    expect(await placedOn(user.apiKey, agent, ["H100-PCIE"])).toBe(true);

    // And back through the answer path: an SXM again.
    await judge(agent.nodeId, "H100-SXM", 790, "answer");
    expect((await listed(user.apiKey, agent.nodeId))?.gpus[0]?.model).toBe("H100-SXM");
    expect(await placedOn(user.apiKey, agent, ["H100-SXM"])).toBe(true);
  });
});

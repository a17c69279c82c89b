import { describe, expect, it } from "vitest";
import { nodeFromRecord } from "../../src/durable/scheduler/node-from-record.js";
import { recordJudgement } from "../../src/durable/verification/desk-judgement.js";
import { unverifiedGpu } from "../../src/durable/verification/node-verification.js";
import { VerificationDesk } from "../../src/durable/verification-desk.js";
import { issueChallenge } from "../../src/shared/verification/challenge-lifecycle.js";
import type { VerificationJudgement } from "../../src/shared/verification/messages.js";
import { seededRandom } from "../verification/support.js";
import { gpuNode } from "./region-support.js";

/**
 * Issue 14 item 3: a GPU is listed (and so matched and priced) as the part its measurements
 * classified it as, never as the part it claimed.
 */
describe("listing by measured part", () => {
  it("a GPU judged as an H100 PCIe is listed as one though it claimed an SXM", () => {
    const gpu = unverifiedGpu({ uuid: "GPU-a", model: "H100-SXM", vramMib: 81_559 }, true, 0);
    const record = issueChallenge({
      nodeId: "node_0123456789abcdefghjkmnpqrs",
      gpu: { uuid: "GPU-a", model: "H100-SXM", vramMib: 81_559 },
      now: 0,
    });
    const judgement: VerificationJudgement = {
      challengeId: record.challenge.id,
      nodeId: record.challenge.nodeId,
      gpuUuid: "GPU-a",
      model: "H100-SXM",
      outcome: "verified",
      reasons: [{ code: "listed_as_measured", message: "measured as a H100-PCIE" }],
      listedAs: "H100-PCIE",
      checkedEntries: 64,
      judgedAt: 1_000,
    };
    recordJudgement(gpu, { state: "judged", challenge: record.challenge, judgement }, record, judgement, {
      random: seededRandom(1),
    });
    expect(gpu.listedAs).toBe("H100-PCIE");
    expect(gpu.outcome).toBe("verified");

    const desk = VerificationDesk.from({
      [record.challenge.nodeId]: {
        v: 1,
        nodeId: record.challenge.nodeId,
        fingerprint: "GPU-a=H100-SXM/81559",
        gpus: [gpu],
      },
    });
    const listed = desk.listedModels(record.challenge.nodeId);
    expect(listed?.get("GPU-a")).toBe("H100-PCIE");
    expect(desk.status(record.challenge.nodeId)?.gpus[0]?.listedAs).toBe("H100-PCIE");

    const node = gpuNode(record.challenge.nodeId);
    const scheduled = nodeFromRecord(node, {
      schedulable: true,
      listedModels: new Map([[node.hardware.gpus[0]?.uuid ?? "", "H100-PCIE"]]),
    });
    expect(scheduled.gpus[0]?.model).toBe("H100-PCIE");
    expect(nodeFromRecord(node, { schedulable: true }).gpus[0]?.model).toBe(node.hardware.gpus[0]?.model);
  });
});

import { describe, expect, it } from "vitest";
import { demandFromSpec, explain, Scheduler } from "../../src/durable/scheduler/index.js";
import { nodeFromRecord } from "../../src/durable/scheduler/node-from-record.js";
import { JobSpec } from "../../src/shared/job-spec.js";
import { computeProduct, openLeaves } from "../../src/shared/verification/cpu-benchmark.js";
import { VerificationError } from "../../src/shared/verification/verification-error.js";
import { gpuNode } from "../region/region-support.js";
import { h100Figures, NODE, OTHER_NODE, scaledMs, T0 } from "../verification/support.js";
import { answerHonestly, challengeOf, deskWith, EVIDENCE } from "./attestation-desk-support.js";

/**
 * Attestation in the verification desk, in workerd, answered by the honest agent of
 * attestation-desk-support.ts.
 */

describe("attestation in the verification desk", () => {
  it("asks an attestable part for a report with a fresh nonce, and a part that cannot attest for none", () => {
    const desk = deskWith({ [NODE]: "H100-SXM", [OTHER_NODE]: "RTX-4090" }, null);
    expect(challengeOf(desk, NODE).attestationNonce).toMatch(/^[0-9a-f]{64}$/);
    expect(challengeOf(desk, OTHER_NODE).attestationNonce).toBeUndefined();
    expect(desk.status(OTHER_NODE)?.gpus[0]?.canAttest).toBe(false);
    expect(desk.status(NODE)?.gpus[0]?.canAttest).toBe(true);
  });

  it("verifies and attests an honest H100 that sends the real report for the issued nonce", async () => {
    const desk = deskWith({ [NODE]: "H100-SXM" });
    const judgement = await answerHonestly(desk, NODE, EVIDENCE);
    expect(judgement.outcome).toBe("verified");
    expect(judgement.attestation).toMatchObject({
      status: "attested",
      chip: "GH100",
      deviceId: "41431D480FE5E87274",
    });
    const status = desk.status(NODE);
    expect(status?.assurance).toBe("attested");
    expect(status?.gpus[0]?.attestation).toMatchObject({ status: "attested", driverVersion: "550.90.07" });
    expect(desk.attested(NODE)).toBe(true);
    expect(desk.eligibleForWork(NODE)).toBe(true);
  });

  it("verifies an honest H100 without a report as timing-verified, not attested", async () => {
    const desk = deskWith({ [NODE]: "H100-SXM" });
    const judgement = await answerHonestly(desk, NODE, undefined);
    expect(judgement.outcome).toBe("verified");
    expect(judgement.attestation).toBeUndefined();
    expect(desk.status(NODE)?.assurance).toBe("timing");
    expect(desk.status(NODE)?.gpus[0]?.attestation).toBeNull();
    expect(desk.attested(NODE)).toBe(false);
    expect(desk.eligibleForWork(NODE)).toBe(true);
  });

  it("judges a replayed report (another nonce than the one issued) suspect: no work until re-challenged", async () => {
    const desk = deskWith({ [NODE]: "H100-SXM" }, null);
    const judgement = await answerHonestly(desk, NODE, EVIDENCE);
    expect(judgement.outcome).toBe("suspect");
    expect(judgement.reasons.map((reason) => reason.code)).toEqual(["attestation_nonce_mismatch"]);
    expect(desk.status(NODE)?.gpus[0]?.attestation).toMatchObject({ status: "failed" });
    expect(desk.status(NODE)?.assurance).toBeNull();
    expect(desk.eligibleForWork(NODE)).toBe(false);
    expect(desk.attested(NODE)).toBe(false);
  });

  it("judges one physical GPU attested for two nodes' GPUs suspect the second time", async () => {
    const desk = deskWith({ [NODE]: "H100-SXM", [OTHER_NODE]: "H100-SXM" });
    expect((await answerHonestly(desk, NODE, EVIDENCE)).outcome).toBe("verified");
    const second = await answerHonestly(desk, OTHER_NODE, EVIDENCE);
    expect(second.outcome).toBe("suspect");
    expect(second.reasons.map((reason) => reason.code)).toEqual(["attestation_device_twin"]);
    expect(desk.status(OTHER_NODE)?.gpus[0]?.attestation).toMatchObject({
      status: "failed",
      reason: { code: "attestation_device_twin" },
    });
    expect(desk.attested(NODE)).toBe(true);
  });

  it("refuses a report in the answer to a challenge that asked for none, and changes nothing", async () => {
    const desk = deskWith({ [OTHER_NODE]: "RTX-4090" }, null);
    const challenge = challengeOf(desk, OTHER_NODE);
    const release = desk.ready(OTHER_NODE, challenge.id, { challengeId: challenge.id }, T0 + 2_000);
    const product = await computeProduct(challenge, release.seed);
    const commitAt = release.releasedAt + scaledMs(challenge, 165) * 1.02;
    const request = desk.commit(
      OTHER_NODE,
      challenge.id,
      {
        challengeId: challenge.id,
        root: product.root,
        measured: { ...h100Figures(challenge, 165), bandwidthGBps: 900 },
        runner: { mode: "host-process", backend: "test", device: "NVIDIA GeForce RTX 4090" },
      },
      commitAt,
    );
    desk.takeChanges();
    const before = JSON.stringify(desk.toJSON());
    const answer = { ...openLeaves(product, request), attestation: EVIDENCE };
    const refused = await desk.answer(OTHER_NODE, challenge.id, answer, commitAt + 1_000).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(VerificationError);
    expect((refused as VerificationError).code).toBe("invalid_answer");
    expect((refused as VerificationError).status).toBe(400);
    expect(JSON.stringify(desk.toJSON())).toBe(before);
    expect(desk.dirty).toBe(false);
  });

  it("refuses evidence that is not base64 or too large as a malformed answer, changing nothing", async () => {
    const desk = deskWith({ [NODE]: "H100-SXM" });
    const challenge = challengeOf(desk, NODE);
    desk.takeChanges();
    const before = JSON.stringify(desk.toJSON());
    for (const attestation of [
      { evidence: "not base64!", certificate: EVIDENCE.certificate },
      { evidence: EVIDENCE.evidence, certificate: "A".repeat(40_000) },
      { evidence: EVIDENCE.evidence },
      { ...EVIDENCE, extra: 1 },
    ]) {
      const body = {
        challengeId: challenge.id,
        openings: [{ leaf: 0, row: "", digests: "", proof: [] }],
        attestation,
      };
      const refused = await desk.answer(NODE, challenge.id, body, T0 + 3_000).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect((refused as VerificationError).code).toBe("invalid_answer");
    }
    expect(JSON.stringify(desk.toJSON())).toBe(before);
    expect(desk.dirty).toBe(false);
  });

  it("places a job that requires attestation on the attested node only, and says why not the other", async () => {
    const desk = deskWith({ [NODE]: "H100-SXM", [OTHER_NODE]: "H100-SXM" });
    await answerHonestly(desk, NODE, EVIDENCE);
    await answerHonestly(desk, OTHER_NODE, undefined);
    const region = (ids: string[]) => {
      const scheduler = new Scheduler();
      for (const id of ids) {
        const facts = {
          schedulable: true,
          verifiedTflops: desk.verifiedTflops(id),
          attested: desk.attested(id),
        };
        scheduler.inventory.upsertNode(nodeFromRecord(gpuNode(id), facts));
      }
      return scheduler;
    };
    const scheduler = region([NODE, OTHER_NODE]);
    const spec = (placement: Record<string, unknown>) =>
      JobSpec.parse({ name: "x", image: "busybox", resources: { gpus: 1 }, placement });
    const strict = demandFromSpec(spec({ requireAttested: true }));
    expect(scheduler.decide(strict)?.nodes.map((placed) => placed.nodeId)).toEqual([NODE]);
    const timingOnly = region([OTHER_NODE]);
    expect(timingOnly.decide(strict)).toBeNull();
    const why = explain(timingOnly.inventory, strict, T0);
    expect(why.failing).toEqual({ attested: 1 });
    expect(why.message).toContain("1 fail attested");
    expect(why.relaxations[0]).toMatchObject({
      field: "placement.requireAttested",
      text: "remove placement.requireAttested",
    });
    expect(timingOnly.decide(demandFromSpec(spec({})))?.nodes[0]?.nodeId).toBe(OTHER_NODE);
  });
});

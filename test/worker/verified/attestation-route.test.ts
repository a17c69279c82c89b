import { afterEach, describe, expect, it } from "vitest";
import { authed, call, drainAgents, expectError, H100, hardware, ownedAgent } from "../support.js";

/**
 * Attestation through the agent routes, on the production path (verified GPUs required): an H100's
 * challenge carries the nonce its report must sign, and the node's status says what it can prove.
 * Malformed evidence in an answer is refused with the error envelope and nothing stored changes.
 * (A full honest answer needs a production-size benchmark; test/worker/attested-verification.test.ts
 * runs the whole exchange on real evidence through the desk.)
 */

const gpu = { ...H100, uuid: "GPU-a7e57000-0000-0000-0000-000000000000" };

async function verificationOf(apiKey: string, nodeId: string): Promise<unknown> {
  const res = await call(`/v1/provider/nodes/${nodeId}`, authed(apiKey));
  expect(res.status).toBe(200);
  return ((await res.json()) as { verification: unknown }).verification;
}

describe("attestation on the agent routes", { timeout: 30_000 }, () => {
  afterEach(drainAgents);

  it("asks an H100 for a report with a nonce, shows it can attest, and refuses malformed evidence", async () => {
    const { agent, apiKey } = await ownedAgent(hardware([gpu]));
    const [challenge] = (await agent.poll()).challenges;
    if (!challenge) throw new Error("no challenge");
    expect(challenge.attestationNonce).toMatch(/^[0-9a-f]{64}$/);
    const before = await verificationOf(apiKey, agent.nodeId);
    expect(before).toMatchObject({
      outcome: "pending",
      assurance: null,
      gpus: [{ canAttest: true, attestation: null, open: true }],
    });

    const release = await agent.send(`/v1/agent/challenges/${challenge.id}/ready`, {
      challengeId: challenge.id,
    });
    expect(release.status).toBe(200);
    const afterReady = await verificationOf(apiKey, agent.nodeId);
    const opening = { leaf: 0, row: "", digests: "", proof: [] };
    for (const attestation of [
      { evidence: "not base64!", certificate: "AAAA" },
      { evidence: "AAAA", certificate: "A".repeat(40_000) },
      { evidence: "AAAA" },
      { evidence: "AAAA", certificate: "AAAA", nonce: challenge.attestationNonce },
      "a report",
    ]) {
      const res = await agent.send(`/v1/agent/challenges/${challenge.id}/answer`, {
        challengeId: challenge.id,
        openings: [opening],
        attestation,
      });
      await expectError(res, 400, "invalid_answer");
    }
    expect(await verificationOf(apiKey, agent.nodeId)).toEqual(afterReady);
  });
});

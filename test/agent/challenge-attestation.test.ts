import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { silentLog } from "../../src/agent/agent-log.js";
import { systemClock } from "../../src/agent/clock.js";
import type { ChallengeResult } from "../../src/agent/control-plane-client.js";
import {
  type AttestationSource,
  nvmlAttestationSource,
} from "../../src/agent/verification/attestation-source.js";
import { ChallengeQueue } from "../../src/agent/verification/challenge-queue.js";
import { verifyGpuAttestation } from "../../src/shared/verification/attestation/gpu-attestation.js";
import type { PreparedBenchmark } from "../../src/shared/verification/benchmark-session.js";
import type { VerificationAnswer, VerificationChallenge } from "../../src/shared/verification/messages.js";
import { NODE } from "../verification/support.js";

/**
 * The agent's side of attestation. The real source runs gpu-attest.py: on this machine (no NVIDIA
 * driver, no pynvml) it must say why there is no evidence; with a stand-in pynvml at the NVML
 * boundary (test/fixtures/fake-nvml) it must hand over a real GH100's evidence that the region's
 * verifier attests. The queue sends what the source gives with the answer, and answers without
 * evidence when there is none.
 */

const FIXTURES = path.join(import.meta.dirname, "../fixtures");
const HGX = JSON.parse(readFileSync(path.join(FIXTURES, "nvidia-attestation/gpu_evidence.json"), "utf8")) as {
  evidence: string;
  certificate: string;
  nonce: string;
}[];
const NONCE = HGX[0]?.nonce ?? "";
const fakeNvml = (extra: Record<string, string> = {}) => ({
  ...process.env,
  PYTHONPATH: path.join(FIXTURES, "fake-nvml"),
  ...extra,
});

function challenge(attestationNonce: string | undefined): VerificationChallenge {
  return {
    id: `vch_${"7".repeat(32)}`,
    nodeId: NODE,
    gpuUuid: "GPU-attesting",
    model: "H100-SXM",
    vramMib: 81_559,
    n: 16,
    blocks: 1,
    dtype: "bf16",
    bandwidthBytes: 2 ** 30,
    memory: null,
    ...(attestationNonce ? { attestationNonce } : {}),
    issuedAt: Date.now(),
    readyBy: Date.now() + 60_000,
  };
}

const prepared: PreparedBenchmark = {
  fill: async () => undefined,
  walk: async () => "ef".repeat(32),
  run: async (release) => ({
    commit: {
      challengeId: release.challengeId,
      root: "ab".repeat(32),
      measured: { matmulMs: 1, bandwidthGBps: 1, bandwidthBytes: 0, vramAllocatedMib: 0, totalMs: 1 },
      runner: { mode: "typescript-cpu", backend: "test", device: "cpu" },
    },
    answer: async (request) => ({
      challengeId: request.challengeId,
      openings: [{ leaf: 0, row: "", digests: "", proof: [] }],
    }),
    close: async () => {},
  }),
  close: async () => {},
};

/** Runs one challenge through the queue; returns the answer it sent and the sources' calls. */
async function sentAnswer(c: VerificationChallenge, source: AttestationSource | undefined) {
  let sent: VerificationAnswer | undefined;
  const queue = new ChallengeQueue({
    engine: async () => prepared,
    clock: systemClock,
    log: silentLog,
    nodeId: () => NODE,
    sharedGpuUuids: () => ["GPU-attesting"],
    ...(source ? { attestation: source } : {}),
    client: {
      readyChallenge: async ({ challengeId }) => ({
        challengeId,
        phase: "compute",
        seed: "cd".repeat(32),
        releasedAt: Date.now(),
        expiresAt: Date.now() + 30_000,
      }),
      commitChallenge: async (commit) => ({ challengeId: commit.challengeId, leaves: [0], answerBy: 0 }),
      answerChallenge: async (answer): Promise<ChallengeResult> => {
        sent = answer;
        throw new Error("judged elsewhere");
      },
    },
  });
  queue.enqueue(c);
  await queue.idle();
  if (!sent) throw new Error("no answer was sent");
  return sent;
}

describe("the agent's attestation", () => {
  it("says plainly why this host has no evidence: no pynvml, no python, confidential computing off", async () => {
    const here = await nvmlAttestationSource().collect("GPU-attesting", NONCE);
    expect(here).toEqual({ unavailable: expect.stringMatching(/pynvml|NVML/) });
    const noPython = await nvmlAttestationSource({ python: "/nonexistent/python3" }).collect("GPU-x", NONCE);
    expect(noPython).toEqual({ unavailable: expect.stringContaining("did not run") });
    const ccOff = await nvmlAttestationSource({ env: fakeNvml({ FAKE_NVML_CC: "0" }) }).collect(
      "GPU-attesting",
      NONCE,
    );
    expect(ccOff).toEqual({ unavailable: "confidential computing is off on this host" });
  });

  it("fetches through NVML the evidence a real GH100 gave, which the region's verifier attests", async () => {
    const collected = await nvmlAttestationSource({ env: fakeNvml() }).collect("GPU-attesting", NONCE);
    if (!("evidence" in collected)) throw new Error(`no evidence: ${collected.unavailable}`);
    expect(collected.evidence).toEqual({ evidence: HGX[0]?.evidence, certificate: HGX[0]?.certificate });
    const verdict = await verifyGpuAttestation({
      evidence: collected.evidence,
      nonce: NONCE,
      claimedModel: "H100-SXM",
      now: Date.UTC(2027, 0, 1),
    });
    expect(verdict).toMatchObject({ status: "attested", deviceId: "412921CE551E4EEDA3" });
    // Another GPU, or another nonce: NVML answers nothing, and the source says so.
    const other = await nvmlAttestationSource({ env: fakeNvml() }).collect("GPU-other", NONCE);
    expect(other).toEqual({ unavailable: expect.stringContaining("NOT_FOUND") });
  });

  it("sends the evidence with the answer when the challenge asks for it", async () => {
    const answer = await sentAnswer(challenge(NONCE), nvmlAttestationSource({ env: fakeNvml() }));
    expect(answer.attestation).toEqual({ evidence: HGX[0]?.evidence, certificate: HGX[0]?.certificate });
  });

  it("answers on timing alone when evidence is unavailable, the source fails, or none was asked", async () => {
    expect((await sentAnswer(challenge(NONCE), nvmlAttestationSource())).attestation).toBeUndefined();
    const broken: AttestationSource = {
      collect: async () => {
        throw new Error("NVML hung");
      },
    };
    expect((await sentAnswer(challenge(NONCE), broken)).attestation).toBeUndefined();
    const calls: string[] = [];
    const recording: AttestationSource = {
      collect: async (uuid) => {
        calls.push(uuid);
        return { unavailable: "unused" };
      },
    };
    expect((await sentAnswer(challenge(undefined), recording)).attestation).toBeUndefined();
    expect(calls).toEqual([]);
    expect((await sentAnswer(challenge(NONCE), undefined)).attestation).toBeUndefined();
  });
});

import type { AttestationVerdict, GpuAttestationEvidence } from "./attestation/attestation-messages.js";
import { verifyGpuAttestation } from "./attestation/gpu-attestation.js";
import type { Finding } from "./judgement.js";
import type { VerificationChallenge } from "./messages.js";
import { VerificationError } from "./verification-error.js";

/**
 * The attestation part of an answer's judgement. No evidence: no verdict and no finding (timing
 * alone decides, and the GPU is listed as timing-verified, not attested). Evidence for a challenge
 * that asked for none is refused (a malformed answer). Evidence that fails is a suspect finding:
 * an honest host's GPU produces evidence that holds, so one that does not is challenged again soon
 * and takes no work meanwhile.
 */
export async function judgeAttestation(
  challenge: VerificationChallenge,
  evidence: GpuAttestationEvidence | undefined,
  now: number,
): Promise<{ verdict?: AttestationVerdict; findings: Finding[] }> {
  if (evidence === undefined) return { findings: [] };
  const nonce = challenge.attestationNonce;
  if (nonce === undefined) {
    throw new VerificationError(
      "invalid_answer",
      `challenge ${challenge.id} asked for no attestation (a ${challenge.model} cannot attest)`,
    );
  }
  const verdict = await verifyGpuAttestation({ evidence, nonce, claimedModel: challenge.model, now });
  if (verdict.status === "attested") return { verdict, findings: [] };
  return {
    verdict,
    findings: [
      {
        outcome: "suspect",
        reason: {
          code: `attestation_${verdict.reason.code}`,
          message: `attestation: ${verdict.reason.message}`,
        },
      },
    ],
  };
}

import type { VerificationJudgement } from "../../shared/verification/messages.js";
import type { NodeVerification } from "./node-verification.js";

/**
 * One physical GPU attested for two GPU records. The device identity an attestation names (its
 * NVIDIA device certificate's serial) is one chip's; each record's report answered its own nonce,
 * so a host that attests one real GPU for several claimed ones shows the same identity twice.
 * The later judgement keeps its timing findings but its attestation fails (`device_twin`) and the
 * GPU is suspect; the earlier record stands until its own re-challenge.
 */
export function attestedTwinOf(
  nodes: ReadonlyMap<string, NodeVerification>,
  judgement: VerificationJudgement,
): { nodeId: string; uuid: string } | undefined {
  const verdict = judgement.attestation;
  if (verdict?.status !== "attested") return undefined;
  for (const node of nodes.values()) {
    for (const gpu of node.gpus) {
      if (node.nodeId === judgement.nodeId && gpu.uuid === judgement.gpuUuid) continue;
      const other = gpu.attestation;
      if (other?.status === "attested" && other.deviceId === verdict.deviceId) {
        return { nodeId: node.nodeId, uuid: gpu.uuid };
      }
    }
  }
  return undefined;
}

export function asDeviceTwin(
  judgement: VerificationJudgement,
  twin: { nodeId: string; uuid: string },
): VerificationJudgement {
  const deviceId = judgement.attestation?.status === "attested" ? judgement.attestation.deviceId : "?";
  const reason = {
    code: "attestation_device_twin",
    message: `attestation: device ${deviceId} is already attested as GPU ${twin.uuid} of node ${twin.nodeId}`,
  };
  return {
    ...judgement,
    outcome: judgement.outcome === "rejected" ? "rejected" : "suspect",
    reasons: [...judgement.reasons, reason],
    attestation: { status: "failed", reason, at: judgement.judgedAt },
  };
}

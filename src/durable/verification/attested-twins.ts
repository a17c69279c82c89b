import type { VerificationJudgement } from "../../shared/verification/messages.js";
import type { DeviceHolder } from "./device-holder.js";
import type { NodeVerification } from "./node-verification.js";

/** Claims an attested device network-wide for the judged GPU: the other holder, if any (device-registry.ts). */
export type DeviceClaim = (deviceId: string, gpuUuid: string) => Promise<DeviceHolder | undefined>;

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

/**
 * The judgement with the device twins it has: first in this region (`nodes`), then, when `claim`
 * is given, in the whole network (the D1 registry: a region knows only its own nodes). A device
 * attested elsewhere fails this attestation the same way, naming the region that holds it.
 */
export async function withDeviceTwins(
  nodes: ReadonlyMap<string, NodeVerification>,
  judgement: VerificationJudgement,
  claim?: DeviceClaim,
): Promise<VerificationJudgement> {
  const here = attestedTwinOf(nodes, judgement);
  if (here) return asDeviceTwin(judgement, here);
  const verdict = judgement.attestation;
  if (!claim || verdict?.status !== "attested") return judgement;
  const elsewhere = await claim(verdict.deviceId, judgement.gpuUuid);
  return elsewhere
    ? asDeviceTwin(judgement, { nodeId: elsewhere.nodeId, uuid: elsewhere.gpuUuid, region: elsewhere.region })
    : judgement;
}

export function asDeviceTwin(
  judgement: VerificationJudgement,
  twin: { nodeId: string; uuid: string; region?: string },
): VerificationJudgement {
  const deviceId = judgement.attestation?.status === "attested" ? judgement.attestation.deviceId : "?";
  const where = twin.region === undefined ? "" : ` in region ${twin.region}`;
  const reason = {
    code: "attestation_device_twin",
    message: `attestation: device ${deviceId} is already attested as GPU ${twin.uuid} of node ${twin.nodeId}${where}`,
  };
  return {
    ...judgement,
    outcome: judgement.outcome === "rejected" ? "rejected" : "suspect",
    reasons: [...judgement.reasons, reason],
    attestation: { status: "failed", reason, at: judgement.judgedAt },
  };
}

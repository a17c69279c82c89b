import type { RegisterRequest } from "../shared/agent-protocol.js";
import { gpuModelForReportedName } from "../shared/gpu-catalog.js";
import type { LocationFact } from "../shared/node-location.js";
import type { AgentCaller, NodeRecord } from "./region-records.js";

/** A node's record from its signed registration. */
export function nodeRecordOf(
  id: string,
  caller: AgentCaller,
  request: RegisterRequest,
  region: string,
  registeredAt: number,
  location?: LocationFact,
): NodeRecord {
  return {
    id,
    publicKey: caller.publicKey,
    region,
    // The catalogue model follows from the reported name, never from what the agent says it is.
    hardware: {
      ...request.hardware,
      gpus: request.hardware.gpus.map((gpu) => ({ ...gpu, model: gpuModelForReportedName(gpu.name)?.id })),
    },
    pricePerGpuHourMicros: request.pricePerGpuHour,
    pricePerVcpuHourMicros: request.pricePerVcpuHour,
    labels: request.labels,
    agentVersion: request.agentVersion,
    runtime: request.runtime,
    registeredAt,
    payoutWallet: request.payoutWallet,
    benchmark: request.benchmark,
    location,
    bandwidthGbps: request.bandwidthGbps,
  };
}

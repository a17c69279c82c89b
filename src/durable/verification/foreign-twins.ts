import type { GpuVerification, NodeVerification } from "./node-verification.js";

/**
 * A GPU uuid also reported by a node in another region. One region cannot release both
 * challenges in one window (each region's desk owns its own clock and records), so a pass here
 * proves nothing about the twin there: the GPU stays suspect — never rentable — until the operator
 * lifts it (after looking at both nodes) or it registers without the uuid.
 */
export const DUPLICATE_UUID_ELSEWHERE = {
  code: "duplicate_gpu_uuid_elsewhere",
  message:
    "this GPU's uuid is also reported by a node in another region; it stays suspect until the operator lifts it",
} as const;

export interface ForeignTwin {
  nodeId: string;
  region: string;
}

/** The GPU's twins in other regions (absent in records written before they were tracked). */
export type WithForeignTwins = GpuVerification & { foreignTwins?: ForeignTwin[] };

/** Records `twin` against the GPU `uuid` of `node`, which turns suspect. False when it has no such GPU. */
export function markForeignTwin(node: NodeVerification, uuid: string, twin: ForeignTwin): boolean {
  const gpu: WithForeignTwins | undefined = node.gpus.find((g) => g.uuid === uuid);
  if (!gpu) return false;
  const twins = gpu.foreignTwins ?? [];
  if (!twins.some((t) => t.nodeId === twin.nodeId)) gpu.foreignTwins = [...twins, twin];
  holdSuspect(gpu);
  return true;
}

/**
 * After a judgement: a GPU with twins elsewhere is at best suspect, whatever it just proved. The
 * judgement's own reasons stay; the duplicate is added to them.
 */
export function holdSuspect(gpu: WithForeignTwins): void {
  if ((gpu.foreignTwins ?? []).length === 0) return;
  if (gpu.outcome !== "rejected") gpu.outcome = "suspect";
  if (!gpu.reasons.some((reason) => reason.code === DUPLICATE_UUID_ELSEWHERE.code)) {
    gpu.reasons = [...gpu.reasons, DUPLICATE_UUID_ELSEWHERE];
  }
}

/** The operator looked: the node's GPUs lose their foreign twins (and get challenged again). */
export function clearForeignTwins(node: NodeVerification): void {
  for (const gpu of node.gpus as WithForeignTwins[]) {
    if (gpu.foreignTwins === undefined) continue;
    delete gpu.foreignTwins;
    gpu.reasons = gpu.reasons.filter((reason) => reason.code !== DUPLICATE_UUID_ELSEWHERE.code);
  }
}

import type { GpuVerification, NodeVerification } from "./node-verification.js";

/** A challenge released and not yet committed to (any phase) is left to run. */
const RUNNING = new Set(["issued", "memory", "walk", "released"]);

/**
 * A GPU uuid is the GPU's own identity (nvidia-smi reads it from the board), so one seen on two
 * nodes means one of them is not what it says: one real GPU answering for several nodes, or a
 * node squatting another's uuid. Neither can be told from the other by looking, so both are
 * suspect until both pass in one round (released together: one GPU cannot finish both in time).
 */
export const DUPLICATE_UUID = {
  code: "duplicate_gpu_uuid",
  message: "this GPU's uuid is also reported by another node; both must pass a challenge at the same time",
} as const;

export interface Twin {
  node: NodeVerification;
  gpu: GpuVerification;
}

/** The GPUs with this uuid on nodes other than `nodeId`. */
export function twinsOf(nodes: ReadonlyMap<string, NodeVerification>, nodeId: string, uuid: string): Twin[] {
  const twins: Twin[] = [];
  for (const node of nodes.values()) {
    if (node.nodeId === nodeId) continue;
    for (const gpu of node.gpus) if (gpu.uuid === uuid) twins.push({ node, gpu });
  }
  return twins;
}

function suspect(gpu: GpuVerification, now: number): void {
  gpu.outcome = "suspect";
  if (!gpu.reasons.some((reason) => reason.code === DUPLICATE_UUID.code))
    gpu.reasons = [...gpu.reasons, DUPLICATE_UUID];
  if (gpu.model !== null && !RUNNING.has(gpu.challenge?.state ?? "")) gpu.nextChallengeAt = now;
}

/**
 * After `nodeId` registered: marks each of its GPUs whose uuid another node also reports, and those
 * twins, suspect and due now. Returns the ids of the nodes changed.
 */
export function markTwins(
  nodes: ReadonlyMap<string, NodeVerification>,
  nodeId: string,
  now: number,
): string[] {
  const node = nodes.get(nodeId);
  if (!node) return [];
  const changed = new Set<string>();
  for (const gpu of node.gpus) {
    const twins = twinsOf(nodes, nodeId, gpu.uuid);
    if (twins.length === 0) continue;
    suspect(gpu, now);
    changed.add(nodeId);
    for (const twin of twins) {
      suspect(twin.gpu, now);
      changed.add(twin.node.nodeId);
    }
  }
  return [...changed];
}

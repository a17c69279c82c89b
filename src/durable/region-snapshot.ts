import type { NodeRecord } from "./region-records.js";
import { normalizeJob } from "./region-records.js";
import type { RegionSnapshot } from "./region-state.js";
import type { ReputationState } from "./reputation/index.js";
import { STORAGE_KEYS, stripPrefix } from "./storage-keys.js";
import type { NodeVerification } from "./verification/node-verification.js";

/** Everything a Region object keeps in its storage, read once when it starts. */
export interface StoredRegion extends RegionSnapshot {
  /** The name an older object stored; today's take it from `ctx.id.name`. */
  storedName: string | undefined;
  reputations: Record<string, ReputationState>;
  verifications: Record<string, NodeVerification>;
}

export async function readStoredRegion(storage: DurableObjectStorage): Promise<StoredRegion> {
  const [storedName, fencing, nodes, jobs, reputations, verifications] = await Promise.all([
    storage.get<string>(STORAGE_KEYS.region),
    storage.get<number>(STORAGE_KEYS.fencing),
    storage.list<NodeRecord>({ prefix: STORAGE_KEYS.node }),
    storage.list<Parameters<typeof normalizeJob>[0]>({ prefix: STORAGE_KEYS.job }),
    storage.list<ReputationState>({ prefix: STORAGE_KEYS.reputation }),
    storage.list<NodeVerification>({ prefix: STORAGE_KEYS.verification }),
  ]);
  return {
    storedName,
    fencing: fencing ?? 0,
    nodes: [...nodes.values()],
    jobs: [...jobs.values()].map(normalizeJob),
    reputations: stripPrefix(reputations, STORAGE_KEYS.reputation),
    verifications: stripPrefix(verifications, STORAGE_KEYS.verification),
  };
}

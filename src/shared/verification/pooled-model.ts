import { gpuModelById } from "../gpu-catalog.js";
import { challengeSizeFor, commitWindowMs, flopsOf } from "./challenge-size.js";
import { type ModelledDevice, modelledGpu, reportedVramMib } from "./device-model.js";
import { memoryWalkFor, walkBytesOf, walkWindowMs } from "./memory-size.js";
import { CHUNK_BYTES, OPS_PER_STEP } from "./memory-walk.js";

/**
 * Pooled GPUs (issue 14): `count` smaller GPUs answering one challenge for a bigger claimed part,
 * e.g. two A100-40GBs per claimed A100-80GB (eight answering for four). The working set is split
 * evenly across the pool; the walk's next chunk is wherever the lane's state points, so a step
 * lands on another GPU of the pool with probability (count − 1) / count and its 64 bytes cross the
 * link between them. Each GPU's HBM serves its shard's reads (its own lanes' and its peers'); each
 * link direction carries the remote reads of one GPU's lanes. Modelled, like device-model.ts: no
 * GPU runs here. Latency does not save the verifier: 2^22 lanes keep far more reads in flight
 * than any link needs (300 GB/s × 2 µs is ~10,000 reads).
 */

export interface Link {
  name: string;
  /** Sustained one-direction rate for 64-byte reads, GB/s. */
  gbps: number;
}

/**
 * A100 NVLink 3: 12 links, 600 GB/s both ways (300 one way) per GPU (NVIDIA A100 datasheet),
 * taken at 80% for 64-byte payloads behind their packet headers.
 */
export const A100_NVLINK: Link = { name: "NVLink 3 (300 GB/s a direction, 80%)", gbps: 0.8 * 300 };
/** PCIe 4.0 x16: 32 GB/s a direction, at 80%. */
export const PCIE4_X16: Link = { name: "PCIe 4.0 x16 (32 GB/s a direction, 80%)", gbps: 0.8 * 32 };

const MEMORY_TAIL_MS = 300;
const COMPUTE_TAIL_MS = 1_000;

export interface PooledVerdict {
  pool: string;
  claims: string;
  memory: { ms: number; windowMs: number; late: number };
  compute: { ms: number; windowMs: number; late: number };
  /** Both phases in time: the pool passes as the claimed part. */
  passes: boolean;
}

/** How `count` devices of `memberId`, joined by `link`, fare answering a challenge for `claimedId`. */
export function judgePool(memberId: string, count: number, link: Link, claimedId: string): PooledVerdict {
  const claimed = gpuModelById(claimedId);
  if (!claimed) throw new RangeError(`no ${claimedId} in the catalogue`);
  const member: ModelledDevice = modelledGpu(memberId);
  const walk = memoryWalkFor(claimed, reportedVramMib(claimed));
  const walkBytes = walkBytesOf(walk);
  const perMember = walkBytes / count;
  const remote = perMember * ((count - 1) / count);
  const walkMs =
    Math.max(
      perMember / (member.readGBps * 1e9),
      remote / (link.gbps * 1e9),
      ((perMember / CHUNK_BYTES) * OPS_PER_STEP) / member.intOps,
    ) * 1000;
  // The walk has its own window (walk release → memory commit): the pair's fast fill buys nothing.
  const memoryMs = walkMs + MEMORY_TAIL_MS;
  const memoryWindow = walkWindowMs(claimed, walk);
  // The products split across the pool with no traffic between members (each B block is its own).
  const size = challengeSizeFor(claimed);
  const computeMs = (flopsOf(size) / (count * member.matmulTflops * 1e12)) * 1000 + COMPUTE_TAIL_MS;
  const computeWindow = commitWindowMs(claimed, size);
  const memory = { ms: memoryMs, windowMs: memoryWindow, late: memoryMs / memoryWindow };
  const compute = { ms: computeMs, windowMs: computeWindow, late: computeMs / computeWindow };
  return {
    pool: `${count}× ${memberId} over ${link.name}`,
    claims: claimedId,
    memory,
    compute,
    passes: memory.late <= 1 && compute.late <= 1,
  };
}

import { fromBase64 } from "./bytes.js";
import { chunksOf, groupsOf, type MemoryWalkSize } from "./memory-size.js";
import { laneStart, runLane, type WalkKeys } from "./memory-walk.js";
import { leafDigest, merkleDepth, verifyMerkleProof } from "./merkle.js";
import type { JudgementReason } from "./messages.js";
import { type RandomBytes, randomBelow } from "./random-source.js";
import { groupDigest, pagesOf, seedSource } from "./walk-commitment.js";
import type { WalkOpening } from "./walk-messages.js";

/** Segments the verifier replays per challenge: ~0.5 M hash32 each, ~5 ms in a quiet Worker. */
export const WALK_CHECKS = 8;

/**
 * What the verifier replays, drawn after the memory commit: groups to open (sent) and, in each, one
 * lane's segment (kept). A walk that faked a fraction f of its segments passes with about
 * (1 − f)^checks; a part short of memory that skipped its missing reads fakes nearly all of them.
 */
export interface WalkPlan {
  groups: number[];
  /** For each group (same order), the lane within it and the segment replayed. */
  checks: { lane: number; segment: number }[];
}

export function planWalkChecks(size: MemoryWalkSize, count: number, random: RandomBytes): WalkPlan {
  const total = groupsOf(size);
  const chosen = new Set<number>();
  while (chosen.size < Math.min(count, total)) chosen.add(randomBelow(random, total));
  const groups = [...chosen].sort((a, b) => a - b);
  return {
    groups,
    checks: groups.map(() => ({
      lane: randomBelow(random, size.groupLanes),
      segment: randomBelow(random, size.segments),
    })),
  };
}

function words(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

export interface WalkCheck {
  failures: JudgementReason[];
  replayedSteps: number;
}

/**
 * Checks the opened groups: each is bound to the committed root (digest recomputed, page in the
 * tree), and its planned segment, replayed from the seed alone, ends in the state the lane
 * reported. Every failure is the walk's fault; none is a refusal.
 */
export async function checkWalkOpenings(
  keys: WalkKeys,
  size: MemoryWalkSize,
  root: string,
  plan: WalkPlan,
  openings: readonly WalkOpening[],
): Promise<WalkCheck> {
  const failures: JudgementReason[] = [];
  const byGroup = new Map(openings.map((opening) => [opening.group, opening]));
  const per = size.groupLanes * size.segments;
  const depth = merkleDepth(pagesOf(size));
  const source = seedSource(keys);
  let replayedSteps = 0;
  for (const [index, group] of plan.groups.entries()) {
    const opening = byGroup.get(group);
    if (opening === undefined) {
      failures.push({
        code: "missing_walk_opening",
        message: `walk group ${group} was asked for and not opened`,
      });
      continue;
    }
    const checkpointBytes = fromBase64(opening.checkpoints);
    const pageBytes = fromBase64(opening.page);
    const page = Math.floor(group / size.pageGroups);
    const pageLength = Math.min(size.pageGroups, groupsOf(size) - page * size.pageGroups);
    if (checkpointBytes?.length !== 4 * per || pageBytes?.length !== 4 * pageLength) {
      failures.push({
        code: "malformed_walk_opening",
        message: `walk group ${group} needs ${per} checkpoints and a page of ${pageLength} digests`,
      });
      continue;
    }
    const checkpoints = words(checkpointBytes);
    const digests = words(pageBytes);
    if (groupDigest(keys, size, group, checkpoints) !== digests[group - page * size.pageGroups]) {
      failures.push({
        code: "walk_digest_mismatch",
        message: `walk group ${group}'s checkpoints do not have the digest its page commits to`,
      });
      continue;
    }
    if (
      opening.proof.length !== depth ||
      !(await verifyMerkleProof(root, await leafDigest(pageBytes), page, opening.proof))
    ) {
      failures.push({
        code: "walk_proof_mismatch",
        message: `walk group ${group}'s page is not the one committed to`,
      });
      continue;
    }
    const check = plan.checks[index];
    if (check === undefined) continue;
    const lane = group * size.groupLanes + check.lane;
    const at = check.lane * size.segments + check.segment;
    const from = check.segment === 0 ? laneStart(keys, lane) : (checkpoints[at - 1] ?? 0);
    const replayed = runLane(
      from,
      check.segment * size.segmentSteps,
      size.segmentSteps,
      chunksOf(size),
      source,
    );
    replayedSteps += size.segmentSteps;
    if (replayed !== checkpoints[at]) {
      failures.push({
        code: "walk_replay_mismatch",
        message: `lane ${lane}'s segment ${check.segment} does not end where the working set leads: a read was skipped or faked`,
      });
    }
  }
  return { failures, replayedSteps };
}

/**
 * The judgement's thresholds (issue 4). A real H100 SXM reaches about 80% of its datasheet bf16
 * rate and 90% of its bandwidth in plain PyTorch (test/fixtures/nvidia-smi/README.md), so the
 * `verified` thresholds leave an honest part room; half of each threshold is the line below which
 * the claimed part cannot be what is measuring (a CPU, a much smaller GPU) and the node is
 * rejected rather than merely suspect. Figures above the datasheet by more than measurement noise
 * are physically impossible for the part and mean the timings are false.
 */
export const COMPUTE_VERIFIED_AT = 0.7;
export const COMPUTE_REJECT_BELOW = 0.35;
export const COMPUTE_IMPOSSIBLE_ABOVE = 1.1;

export const BANDWIDTH_VERIFIED_AT = 0.8;
export const BANDWIDTH_REJECT_BELOW = 0.4;
export const BANDWIDTH_IMPOSSIBLE_ABOVE = 1.15;

export const VRAM_VERIFIED_AT = 0.95;
export const VRAM_REJECT_BELOW = 0.8;
/** nvidia-smi reports a little under vramGb·1024 MiB (an "80 GB" H100 shows 81,559 MiB). */
export const VRAM_CLAIM_TOLERANCE = 1.02;

/** Spot checks: rows opened, and entries of each recomputed on the CPU. */
export const SPOT_CHECK_LEAVES = 16;
export const SPOT_CHECK_COLUMNS_PER_LEAF = 4;
/** How long the agent has to open the rows once asked. */
export const ANSWER_WINDOW_MS = 60_000;

/**
 * The memory phase's region-timed read rate (walk bytes over walk release → memory commit, round
 * trips included, the fill not) against a part's datasheet bandwidth: an honest part reading at
 * 80–90% measures ~76–85% (memory-size.ts: the walk window itself demands ~75%); no part can
 * measure its full datasheet rate. The lower band edge matters only when a node is classified as
 * a part other than the one it claimed (it then had the claimed part's window, not this one's).
 */
export const WALK_BANDWIDTH_VERIFIED_AT = 0.55;
export const WALK_BANDWIDTH_IMPOSSIBLE_ABOVE = 1.05;

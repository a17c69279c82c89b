import { type RandomBytes, randomBelow } from "./random-source.js";

/**
 * What the verifier will look at, drawn only after the commit so the agent cannot know it while
 * computing. Only the leaves are sent; the columns stay with the verifier, so the agent must get
 * every entry of an opened row right. A cheat that computed a fraction f of the rows correctly
 * passes one challenge with probability about f^leaves.
 */
export interface SpotCheckPlan {
  /** Leaf indices (block · n + row), distinct, ascending. */
  leaves: number[];
  /** For each leaf, the columns recomputed on the CPU. */
  columns: number[][];
}

export function planSpotChecks(
  n: number,
  blocks: number,
  leafCount: number,
  columnsPerLeaf: number,
  random: RandomBytes,
): SpotCheckPlan {
  const total = n * blocks;
  const chosen = new Set<number>();
  while (chosen.size < Math.min(leafCount, total)) chosen.add(randomBelow(random, total));
  const leaves = [...chosen].sort((a, b) => a - b);
  const columns = leaves.map(() => {
    const picked = new Set<number>();
    while (picked.size < Math.min(columnsPerLeaf, n)) picked.add(randomBelow(random, n));
    return [...picked].sort((a, b) => a - b);
  });
  return { leaves, columns };
}

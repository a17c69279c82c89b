/**
 * The agent requests a region is working on and has not answered yet, per node, in memory only.
 * While the region owes a node an answer the node is waiting on the region, not silent: its
 * presence holds and its leases do not run out. Under a burst an answer can take many seconds
 * (each step's D1 records are flushed before it replies, behind everyone else's), and judging the
 * node by the region's own delay lost every attempt of a busy region (bench:burst, issue 8 item 9).
 */
export class OwedAnswers {
  private readonly byNode = new Map<string, Set<string>>();

  open(nodeId: string, token: string): void {
    const tokens = this.byNode.get(nodeId) ?? new Set<string>();
    tokens.add(token);
    this.byNode.set(nodeId, tokens);
  }

  /** The answer went out; false when it was not owed (answered already). */
  close(nodeId: string, token: string): boolean {
    const tokens = this.byNode.get(nodeId);
    if (!tokens?.delete(token)) return false;
    if (tokens.size === 0) this.byNode.delete(nodeId);
    return true;
  }

  /** Nodes the region owes an answer now. */
  nodes(): IterableIterator<string> {
    return this.byNode.keys();
  }
}

/**
 * Held long-polls, per node. A poll waits here until there is something for its node (an
 * assignment, a stop order) or its wait runs out.
 */
export class PollWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  wait(nodeId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiting.get(nodeId) ?? new Set<() => void>();
      this.waiting.set(nodeId, set);
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiting.delete(nodeId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  wake(nodeId: string): void {
    for (const done of [...(this.waiting.get(nodeId) ?? [])]) done();
  }
}

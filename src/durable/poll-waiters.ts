/** How a held poll's wait ended. */
export type WaitEnd = "woken" | "timeout" | "dropped" | "superseded";

interface Waiter {
  token: string;
  end: (how: WaitEnd) => void;
}

/**
 * Held long-polls, per node, each under its token (the request's nonce). A poll waits here until
 * there is something for its node (a wake), its wait runs out, its connection drops, or a newer
 * poll of the same node replaces it.
 */
export class PollWaiters {
  private readonly waiting = new Map<string, Set<Waiter>>();

  wait(nodeId: string, token: string, ms: number): Promise<WaitEnd> {
    return new Promise((resolve) => {
      const set = this.waiting.get(nodeId) ?? new Set<Waiter>();
      this.waiting.set(nodeId, set);
      const waiter: Waiter = {
        token,
        end: (how) => {
          clearTimeout(timer);
          set.delete(waiter);
          if (set.size === 0) this.waiting.delete(nodeId);
          resolve(how);
        },
      };
      const timer = setTimeout(() => waiter.end("timeout"), ms);
      set.add(waiter);
    });
  }

  wake(nodeId: string): void {
    for (const waiter of [...(this.waiting.get(nodeId) ?? [])]) waiter.end("woken");
  }

  /** Ends the held poll `token` of the node; false when it is not held (already answered). */
  drop(nodeId: string, token: string): boolean {
    const waiter = [...(this.waiting.get(nodeId) ?? [])].find((w) => w.token === token);
    waiter?.end("dropped");
    return waiter !== undefined;
  }

  /** Ends every held poll of the node: its connection is gone. */
  dropAll(nodeId: string): void {
    for (const waiter of [...(this.waiting.get(nodeId) ?? [])]) waiter.end("dropped");
  }

  /** Ends every held poll of the node but `token`'s: a newer poll replaced them. */
  supersede(nodeId: string, token: string): number {
    const older = [...(this.waiting.get(nodeId) ?? [])].filter((w) => w.token !== token);
    for (const waiter of older) waiter.end("superseded");
    return older.length;
  }
}

import type { SimAgent } from "./sim-agent.js";

/** Waits `ms`, or less when `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/**
 * Simulated agents: each holds a poll; an assignment is answered with a `started` report at once,
 * as an agent whose image is present does, and the time it was accepted is kept per job.
 */
export class Fleet {
  readonly runningAt = new Map<string, number>();
  /** Agent requests that failed and were sent again (resets under load). */
  readonly errors: string[] = [];
  private readonly stop = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(private readonly agents: SimAgent[]) {}

  start(): void {
    this.loops = this.agents.map((agent) => this.serve(agent));
  }

  /**
   * As the real agent's work loop does (src/agent/work-loop.ts `serve`, node-attempts.ts `accept`): an assignment is
   * taken (listed as running in the next poll) and its attempt reports `started` on its own, while
   * the loop polls again at once (after the answer's `nextPollDelayMs`); a poll never waits for
   * the reports of the attempts it handed over.
   */
  private async serve(agent: SimAgent): Promise<void> {
    const running: { attemptId: string; fencing: number }[] = [];
    const reports: Promise<void>[] = [];
    while (!this.stop.signal.aborted) {
      let answer: Awaited<ReturnType<SimAgent["poll"]>>;
      try {
        answer = await agent.poll(running, 20_000, this.stop.signal);
      } catch (error) {
        if (this.stop.signal.aborted) break;
        // A reset under the burst's load: poll again, as an agent does, and count it.
        this.errors.push(String(error));
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      for (const a of answer.assignments) {
        if (running.some((r) => r.attemptId === a.attemptId)) continue;
        running.push({ attemptId: a.attemptId, fencing: a.fencing });
        reports.push(this.reportStarted(agent, a));
      }
      if (answer.nextPollDelayMs > 0) await sleep(answer.nextPollDelayMs, this.stop.signal);
    }
    await Promise.allSettled(reports);
  }

  /** The attempt's `started` report (the real agent's report retries are in SimAgent.send). */
  private async reportStarted(agent: SimAgent, a: { attemptId: string; fencing: number; jobId: string }) {
    for (let tries = 0; tries < 5 && !this.stop.signal.aborted; tries++) {
      try {
        const started = { type: "started", fencing: a.fencing, at: Date.now(), containerId: "sim" };
        await agent.report(a.attemptId, started);
        this.runningAt.set(a.jobId, performance.now());
        return;
      } catch (error) {
        this.errors.push(String(error));
      }
    }
  }

  /** The agent errors that were retried, by kind (their first words, ids left out). */
  errorKinds(): Record<string, number> {
    const kinds: Record<string, number> = {};
    for (const error of this.errors) {
      const kind = error.replace(/[0-9a-f]{8,}|[A-Za-z0-9_-]{20,}/g, "…").slice(0, 100);
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    return kinds;
  }

  async until(n: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.runningAt.size < n) {
      if (Date.now() > deadline) {
        // Say why, not only how many: the last agent errors, by kind.
        const kinds = new Map<string, number>();
        for (const error of this.errors) {
          const kind = error.slice(0, 120);
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        }
        throw new Error(
          `only ${this.runningAt.size} of ${n} jobs running after ${ms} ms; agent errors: ${JSON.stringify([...kinds])}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled(this.loops);
  }
}

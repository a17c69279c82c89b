/**
 * Whether the chaos suite runs: only with CHAOS=1 (`npm run test:chaos` sets it). It is kept out
 * of a plain `npm test` for now because it has not passed yet: the reputation bug it found (every
 * node expelled after one restart) is fixed, but after a control-plane restart the agents take
 * longer than its 60 s to come back (requests signed before the restart are refused 401), see
 * docs/RELIABILITY.md. Once it passes, CI runs a reduced version by setting CHAOS=1 in .ci/run.
 */
export function chaosEnabled(): boolean {
  if (process.env.CHAOS === "1") return true;
  console.warn("\n!!! SKIPPED test/chaos: set CHAOS=1 (npm run test:chaos) to run the chaos suite !!!\n");
  return false;
}

/**
 * How hard the chaos suite pushes. The reduced version (CHAOS=1 alone, meant for CI): 200 jobs,
 * 3 agents, 2 control-plane kills. `npm run test:chaos` sets CHAOS_FULL=1: 1,000 jobs, 4 agents,
 * 5 control-plane kills. Each number can be set on its own (CHAOS_JOBS, CHAOS_AGENTS,
 * CHAOS_PLANE_KILLS); CHAOS_SEED replays a run's faults and timings.
 */
export interface ChaosSettings {
  jobs: number;
  agents: number;
  planeKills: number;
  /** Whether agents are SIGKILLed too (CHAOS_AGENT_KILLS=0 leaves them be). */
  agentKills: boolean;
  seed: number;
  /** Between two bursts of five submissions. */
  submitGapMs: number;
  /** Between two agent faults (scaled by 0.5–1.5 at random). */
  faultGapMs: number;
  /** How long the jobs may take to end after the last submission. */
  settleMs: number;
  testTimeoutMs: number;
}

function numberFrom(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${text}"`);
  return value;
}

export function chaosSettings(): ChaosSettings {
  const full = process.env.CHAOS_FULL === "1";
  const jobs = numberFrom("CHAOS_JOBS", full ? 1_000 : 200);
  return {
    jobs,
    agents: numberFrom("CHAOS_AGENTS", full ? 4 : 3),
    planeKills: numberFrom("CHAOS_PLANE_KILLS", full ? 5 : 2),
    agentKills: numberFrom("CHAOS_AGENT_KILLS", 1) !== 0,
    seed: numberFrom("CHAOS_SEED", Date.now() % 1_000_000),
    submitGapMs: 250,
    faultGapMs: 3_000,
    settleMs: 240_000,
    // Start-ups, the flow, the settling and the checks, with slack for a loaded 2-core machine.
    testTimeoutMs: 600_000 + jobs * 1_000,
  };
}

/**
 * Whether the chaos suite runs: always, unless CHAOS=0. A plain `npm test` runs the reduced `ci`
 * profile (chaosSettings); `npm run test:chaos` runs the full one. Without a Docker engine it skips
 * loudly (test/support/docker.ts), like every Docker-backed suite.
 */
export function chaosEnabled(): boolean {
  if (process.env.CHAOS !== "0") return true;
  console.warn("\n!!! SKIPPED test/chaos: CHAOS=0 was set !!!\n");
  return false;
}

/**
 * How hard the chaos suite pushes, by CHAOS_PROFILE:
 * - `ci` (the default, what `npm test` runs): 24 jobs through 2 agents, at least 2 agent SIGKILLs
 *   and 1 control-plane SIGKILL, about 2-3 minutes on a loaded 2-core machine;
 * - `full` (`npm run test:chaos`): 200 jobs, 3 agents, at least 3 agent kills, 3 control-plane kills;
 * - `soak`: 1,000 jobs, 4 agents, 5 control-plane kills.
 * Each number can be set on its own (CHAOS_JOBS, CHAOS_AGENTS, CHAOS_PLANE_KILLS,
 * CHAOS_AGENT_KILLS: the least number of agent SIGKILLs, 0 for none); CHAOS_SEED replays a run's
 * faults and timings. The flow waits for the planned faults (see kills.test.ts), so every profile
 * makes all of them while jobs are still being submitted.
 */
export interface ChaosSettings {
  jobs: number;
  agents: number;
  planeKills: number;
  /** Whether agents are SIGKILLed too (CHAOS_AGENT_KILLS=0 leaves them be). */
  agentKills: boolean;
  /** The least number of agent SIGKILLs: the last submissions wait for them. */
  minAgentKills: number;
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

const PROFILES = {
  ci: { jobs: 24, agents: 2, planeKills: 1, agentKills: 2 },
  full: { jobs: 200, agents: 3, planeKills: 3, agentKills: 3 },
  soak: { jobs: 1_000, agents: 4, planeKills: 5, agentKills: 4 },
} as const;

function profile(): (typeof PROFILES)[keyof typeof PROFILES] {
  const name = process.env.CHAOS_PROFILE ?? "ci";
  if (name === "ci" || name === "full" || name === "soak") return PROFILES[name];
  throw new Error(`CHAOS_PROFILE must be ci, full or soak, got "${name}"`);
}

export function chaosSettings(): ChaosSettings {
  const base = profile();
  const jobs = numberFrom("CHAOS_JOBS", base.jobs);
  const agents = numberFrom("CHAOS_AGENTS", base.agents);
  const minAgentKills = numberFrom("CHAOS_AGENT_KILLS", base.agentKills);
  return {
    jobs,
    agents,
    planeKills: numberFrom("CHAOS_PLANE_KILLS", base.planeKills),
    agentKills: minAgentKills !== 0,
    minAgentKills,
    seed: numberFrom("CHAOS_SEED", Date.now() % 1_000_000),
    submitGapMs: 250,
    faultGapMs: 3_000,
    settleMs: 240_000,
    // Start-ups, the flow, the settling and the checks, with slack for a loaded 2-core machine (the
    // soak profile's 1,000 jobs may take 20-40 minutes there).
    testTimeoutMs: 600_000 + jobs * 2_000,
  };
}

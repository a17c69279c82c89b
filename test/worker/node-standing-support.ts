/** The node-standing tests' shared part: the provider views they read and the lying agent they play. */
import { expect } from "vitest";
import type { Assignment, NodeMetrics } from "../../src/shared/agent-protocol.js";
import { toBase64 } from "../../src/shared/verification/bytes.js";
import { flopsOf } from "../../src/shared/verification/challenge-size.js";
import { merkleDepth } from "../../src/shared/verification/merkle.js";
import type {
  SpotCheckRequest,
  VerificationChallenge,
  VerificationCommit,
} from "../../src/shared/verification/messages.js";
import { authed, call, submit, type TestAgent } from "./support.js";

export const OPERATOR = "test-operator-token";
const base = { image: "meridian/busybox:test", command: ["true"], region: "eu-west", timeoutSeconds: 600 };

export interface ReputationBody {
  nodeId: string;
  score: number;
  confidence: number;
  status: "active" | "quarantined" | "expelled";
  until?: number | string | null;
  reason?: string;
  components: {
    uptime: number | null;
    successRate: number | null;
    ackLatencyMs: number | null;
    verification: number | null;
  };
  totals: Record<string, number>;
}

export interface ProviderNodeBody {
  node: { id: string; verification: string; reputation: number };
  status: string;
  verification: {
    outcome: string;
    gpus: { uuid: string; outcome: string; reasons: { code: string }[] }[];
  } | null;
  reputation: ReputationBody;
  health: { hot: boolean; gpuErrors: boolean; notices: string[] };
  jobs: { jobId: string; status: string }[];
}

export async function providerView(apiKey: string, nodeId: string): Promise<ProviderNodeBody> {
  const res = await call(`/v1/provider/nodes/${nodeId}`, authed(apiKey));
  if (res.status !== 200) throw new Error(`provider view answered ${res.status}: ${await res.text()}`);
  return res.json();
}

export async function reputationOf(apiKey: string, nodeId: string): Promise<ReputationBody> {
  const res = await call(`/v1/provider/nodes/${nodeId}/reputation`, authed(apiKey));
  if (res.status !== 200) throw new Error(`reputation answered ${res.status}: ${await res.text()}`);
  return res.json();
}

export async function submitted(apiKey: string, spec: Record<string, unknown>): Promise<string> {
  const res = await submit(apiKey, { ...base, ...spec });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export async function finish(agent: TestAgent, a: Assignment, exitCode: number): Promise<void> {
  await agent.start(a);
  const res = await agent.report(a.attemptId, {
    type: "exited",
    fencing: a.fencing,
    at: Date.now(),
    exitCode,
    reason: "completed",
  });
  expect(res.status).toBe(200);
}

/** A made-up commitment: a root the agent never computed, with what an H100 would measure. */
export function lyingCommit(challenge: VerificationChallenge): VerificationCommit {
  return {
    challengeId: challenge.id,
    root: "ab".repeat(32),
    measured: {
      matmulMs: (flopsOf(challenge) / 790e12) * 1000,
      bandwidthGBps: 3000,
      bandwidthBytes: challenge.bandwidthBytes,
      vramAllocatedMib: Math.ceil(challenge.vramMib * 0.97),
      totalMs: 9_000,
    },
    runner: { mode: "host-process", backend: "test", device: "NVIDIA H100 80GB HBM3" },
  };
}

/**
 * Openings of the right shape that lead nowhere: zero rows, zero digest vectors, made-up sibling
 * hashes. Full size at n = 16384 (about 2 MB in all), so the answer route's larger body limit is
 * exercised too.
 */
export function garbageAnswer(challenge: VerificationChallenge, request: SpotCheckRequest): unknown {
  const depth = merkleDepth(challenge.blocks);
  const row = toBase64(new Uint8Array(2 * challenge.n));
  const digests = toBase64(new Uint8Array(4 * challenge.n));
  return {
    challengeId: challenge.id,
    openings: request.leaves.map((leaf) => ({
      leaf,
      row,
      digests,
      proof: Array.from({ length: depth }, () => "cd".repeat(32)),
    })),
  };
}

export async function challengeOf(agent: TestAgent): Promise<VerificationChallenge> {
  const poll = await agent.poll();
  const [challenge] = poll.challenges;
  if (!challenge) throw new Error("the poll carried no challenge");
  return challenge;
}

/** One metrics sample: GPU 0 with the given fields, and a quiet host. */
export function sample(at: number, gpu: Partial<NodeMetrics["gpus"][number]>): NodeMetrics {
  return {
    at,
    gpus: [{ index: 0, memoryUsedMib: 2048, ...gpu }],
    host: { cpuPct: 12, memoryUsedMib: 4096, diskFreeMib: 50_000 },
  };
}

/**
 * The agent lies through the whole challenge, as node-standing-proof.test.ts's liar does (the
 * same liar, node-standing-support.ts): a made-up walk root and commitment, then openings of the
 * right shape that lead nowhere. The region rejects it.
 */
export async function lieThroughChallenge(agent: TestAgent): Promise<void> {
  const challenge = await challengeOf(agent);
  const path = (step: string) => `/v1/agent/challenges/${challenge.id}/${step}`;
  expect((await agent.send(path("ready"), { challengeId: challenge.id })).status).toBe(200);
  // The fill is done: the walk's own seed comes out; then the (made-up) walk root.
  expect((await agent.send(path("ready"), { challengeId: challenge.id, filled: true })).status).toBe(200);
  const walked = { challengeId: challenge.id, memory: { root: "ab".repeat(32) } };
  expect((await agent.send(path("ready"), walked)).status).toBe(200);
  const committed = await agent.send(path("commit"), lyingCommit(challenge));
  expect(committed.status).toBe(200);
  const spot = (await committed.json()) as SpotCheckRequest;
  const answered = await agent.send(path("answer"), garbageAnswer(challenge, spot));
  expect(answered.status).toBe(200);
  expect(((await answered.json()) as { outcome: string }).outcome).toBe("rejected");
}

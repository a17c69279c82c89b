import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { balanceOfAccount } from "./ledger-support.js";
import { authed, call, jsonInit, submit, type TestAgent } from "./support.js";

// The charge-dispute tests' shared pieces: an hourly job run to its exit on a test agent, the
// attempts' charge and refund as the user sees them, and the tables a refused request must not touch.

export const OPERATOR = { authorization: "Bearer test-operator-token" };
export const DIGEST = `sha256:${"ab".repeat(32)}`;

/** An hourly job: without per-second early failures, a failure at once would cost a whole hour. */
export const hourly = {
  name: "hourly",
  image: "meridian/busybox:test",
  command: ["sh", "-c", "exit 1"],
  region: "eu-west",
  resources: { gpus: 1 },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 3600,
  billing: { mode: "hourly" },
};

export interface Attempt {
  id: string;
  nodeId: string;
  outcome: string | null;
  containerId: string | null;
  imageDigest: string | null;
  startedAt: string | null;
  charge: { billingMode: string; billableSeconds: number; chargedMicros: number } | null;
  refund: { cause: string; refundedMicros: number; unrecoveredMicros: number } | null;
  dispute: { id: string; state: string } | null;
}

/** What a node has earned and not yet been paid. */
export function earnings(nodeId: string): Promise<number> {
  return balanceOfAccount(`earnings:${nodeId}`);
}

export async function counts(): Promise<{ disputes: number; refunds: number; transfers: number }> {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM charge_disputes) AS disputes, (SELECT count(*) FROM attempt_refunds) AS refunds,
       (SELECT count(*) FROM ledger_transfers) AS transfers`,
  ).first<{ disputes: number; refunds: number; transfers: number }>();
  if (!row) throw new Error("no counts");
  return row;
}

export async function attemptsOf(apiKey: string, jobId: string): Promise<Attempt[]> {
  const res = await call(`/v1/jobs/${jobId}/attempts`, authed(apiKey));
  expect(res.status).toBe(200);
  return ((await res.json()) as { attempts: Attempt[] }).attempts;
}

/** Submits `spec`, has `agent` take it, report the start (with `digest`), and exit with `exitCode`. */
export async function runOn(
  agent: TestAgent,
  apiKey: string,
  spec: unknown,
  exitCode: number,
  digest: string | null = DIGEST,
): Promise<{ jobId: string; attemptId: string }> {
  const res = await submit(apiKey, spec);
  expect(res.status).toBe(201);
  const jobId = ((await res.json()) as { id: string }).id;
  const [a] = (await agent.poll()).assignments;
  if (!a) throw new Error("no assignment");
  const started = await agent.report(a.attemptId, {
    type: "started",
    fencing: a.fencing,
    at: Date.now(),
    containerId: `ctr-${a.attemptId}`,
    ...(digest ? { imageDigest: digest } : {}),
  });
  expect(started.status).toBe(200);
  expect((await agent.exit(a, exitCode)).status).toBe(200);
  return { jobId, attemptId: a.attemptId };
}

export function dispute(
  apiKey: string,
  jobId: string,
  attemptId: string,
  body: unknown = { reason: "it failed at once" },
) {
  return call(`/v1/jobs/${jobId}/attempts/${attemptId}/dispute`, jsonInit("POST", body, apiKey));
}

export async function lastJob(apiKey: string): Promise<{ id: string }> {
  const list = (await (await call("/v1/jobs?limit=1", authed(apiKey))).json()) as { jobs: { id: string }[] };
  const [job] = list.jobs;
  if (!job) throw new Error("no job");
  return job;
}

export async function reputationScore(apiKey: string, nodeId: string): Promise<number> {
  const res = await call(`/v1/provider/nodes/${nodeId}`, authed(apiKey));
  expect(res.status).toBe(200);
  return ((await res.json()) as { reputation: { score: number } }).reputation.score;
}

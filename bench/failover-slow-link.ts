/**
 * The slow-link trial of bench:failover: healthy agents behind links that delay every chunk both
 * ways (by up to seconds, with jitter) run jobs pinned to them by a label; a healthy node wrongly
 * taken for gone shows as a `lost` event on its job. Counts false positives, which must be zero.
 */
import type { JobEventView, JobView } from "../src/shared/api.js";
import { TEST_IMAGE } from "../test/support/docker.js";
import type { UserClient } from "../test/support/user-client.js";
import type { AgentPool, BenchAgent } from "./failover-trials.js";

export interface SlowLink {
  oneWayMs: number;
  jitterMs: number;
}

export interface SlowLinkResult {
  links: (SlowLink & {
    node: string;
    status: string;
    reason: string | null;
    attempts: number;
    lostEvents: number;
    lostReasons: string[];
  })[];
  nodesWronglyLost: number;
  runSeconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function slowLinkTrial(
  pool: AgentPool,
  user: UserClient,
  links: readonly SlowLink[],
  runSeconds: number,
): Promise<SlowLinkResult> {
  const agents: { agent: BenchAgent; link: SlowLink; jobId: string }[] = [];
  for (const [index, link] of links.entries()) {
    const agent = await pool.start([`--label`, `link=slow${index}`], (ns) =>
      ns.delay(link.oneWayMs, link.jitterMs),
    );
    const job = await user.submit({
      name: `slow-link-${index}`,
      image: TEST_IMAGE,
      command: ["sh", "-c", `sleep ${runSeconds}; echo done`],
      resources: { cpus: 0.25, memoryGb: 0.125 },
      placement: { requiredLabels: { link: `slow${index}` } },
      maxRetries: 3,
    });
    agents.push({ agent, link, jobId: job.id });
  }
  const deadline = Date.now() + (runSeconds + 180) * 1_000;
  const finished = new Map<string, JobView>();
  while (finished.size < agents.length && Date.now() < deadline) {
    for (const { jobId } of agents) {
      if (finished.has(jobId)) continue;
      const view = await user.job(jobId);
      if (["succeeded", "failed", "cancelled"].includes(view.status)) finished.set(jobId, view);
    }
    await sleep(1_000);
  }
  const out: SlowLinkResult["links"] = [];
  for (const { agent, link, jobId } of agents) {
    const view = finished.get(jobId) ?? (await user.job(jobId));
    const events = (
      (await (await user.request(`/v1/jobs/${jobId}/events`)).json()) as { events: JobEventView[] }
    ).events;
    out.push({
      ...link,
      node: agent.node,
      status: view.status,
      reason: view.reason,
      attempts: view.attempts,
      lostEvents: events.filter((e) => e.status === "lost").length,
      lostReasons: events.filter((e) => e.status === "lost").map((e) => e.reason ?? ""),
    });
    if (!finished.has(jobId)) await user.request(`/v1/jobs/${jobId}/cancel`, { method: "POST" });
    await pool.retire(agent, "SIGTERM");
  }
  return { links: out, nodesWronglyLost: out.filter((l) => l.lostEvents > 0).length, runSeconds };
}

import type { JobList, JobView } from "../../src/shared/api.js";
import { TEST_IMAGE } from "../support/docker.js";

/** A job the flow submitted, and how it must end: its own exit code, whatever the faults. */
export interface FlowJob {
  readonly key: string;
  readonly exitCode: number;
  id: string;
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A user that keeps submitting through faults: each job carries an Idempotency-Key, and a submit
 * that meets a dead control plane (connection refused, a 5xx from a half-started one) is sent
 * again with the same key until it is answered, so a crash between "stored" and "answered"
 * cannot make two jobs of one, and none is dropped.
 */
export class FlowUser {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string,
  ) {}

  static async signup(baseUrl: string): Promise<FlowUser> {
    const res = await fetch(`${baseUrl}/v1/accounts`, { method: "POST" });
    if (res.status !== 201) throw new Error(`signup answered ${res.status}: ${await res.text()}`);
    return new FlowUser(baseUrl, ((await res.json()) as { apiKey: string }).apiKey);
  }

  /** A request retried across control-plane outages (up to `ms`); 4xx answers are returned. */
  async request(path: string, init: { method?: string; body?: string; key?: string } = {}, ms = 120_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}` };
        if (init.body !== undefined) headers["content-type"] = "application/json";
        if (init.key !== undefined) headers["idempotency-key"] = init.key;
        const res = await fetch(this.baseUrl + path, {
          method: init.method ?? "GET",
          headers,
          ...(init.body === undefined ? {} : { body: init.body }),
          signal: AbortSignal.timeout(30_000),
        });
        if (res.status < 500) return res;
        await res.body?.cancel();
      } catch {
        // The control plane is down or restarting: the same request again, shortly.
      }
      if (Date.now() > deadline) throw new Error(`${path} got no answer within ${ms} ms`);
      await pause(500);
    }
  }

  async submit(job: FlowJob, sleepMs: number): Promise<void> {
    const seconds = (sleepMs / 1000).toFixed(2);
    const spec = {
      name: job.key,
      image: TEST_IMAGE,
      command: ["sh", "-c", `echo ${job.key}; sleep ${seconds}; exit ${job.exitCode}`],
      resources: { cpus: 0.1, memoryGb: 0.0625 },
      // Kills lose attempts; the job must still end in its own outcome, not "too many retries".
      maxRetries: 10,
      timeoutSeconds: 600,
    };
    const res = await this.request("/v1/jobs", { method: "POST", body: JSON.stringify(spec), key: job.key });
    if (res.status !== 201 && res.status !== 200)
      throw new Error(`submit ${job.key} answered ${res.status}: ${await res.text()}`);
    job.id = ((await res.json()) as JobView).id;
  }

  /** A job's transitions, oldest first; empty for another account's job (its id is 404 here). */
  async events(jobId: string): Promise<FlowEvent[]> {
    const res = await this.request(`/v1/jobs/${jobId}/events`);
    if (res.status !== 200) {
      await res.body?.cancel();
      return [];
    }
    return ((await res.json()) as { events: FlowEvent[] }).events;
  }

  /** A job's transitions, one line each, for failure messages (any account's job: ids are 404 otherwise). */
  async trace(jobId: string): Promise<string> {
    const events = await this.events(jobId);
    if (events.length === 0) return "";
    const lines = events.map(
      (e) => `  ${e.seq} ${e.status} ${e.nodeId ?? "-"} ${e.attemptId ?? "-"} ${e.reason ?? ""}`,
    );
    return `${jobId}:\n${lines.join("\n")}`;
  }

  async job(jobId: string): Promise<JobView> {
    const res = await this.request(`/v1/jobs/${jobId}`);
    if (res.status !== 200) throw new Error(`job ${jobId} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as JobView;
  }

  /** Every job of this account, newest first (paged through). */
  async jobs(): Promise<JobView[]> {
    const all: JobView[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const res = await this.request(`/v1/jobs?limit=200${query}`);
      if (res.status !== 200) throw new Error(`list answered ${res.status}: ${await res.text()}`);
      const page = (await res.json()) as JobList;
      all.push(...page.jobs);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return all;
  }
}

/** One transition of a job (GET /v1/jobs/:id/events). */
export interface FlowEvent {
  seq: number;
  status: string;
  reason: string | null;
  nodeId: string | null;
  attemptId: string | null;
}

/** Where each job stands against how it must end. */
export interface FlowVerdict {
  total: number;
  byStatus: Record<string, number>;
  /** Jobs not yet terminal. */
  pending: JobView[];
  /** Terminal jobs that did not end in their own outcome (with what they ended in). */
  wrong: string[];
  /** Jobs the account has that the flow did not submit (a submit doubled by a retry). */
  unexpected: string[];
  /** Submitted jobs the control plane does not list. */
  missing: string[];
}

export function judge(flow: readonly FlowJob[], listed: readonly JobView[]): FlowVerdict {
  const byId = new Map(listed.map((job) => [job.id, job]));
  const submitted = new Set(flow.map((job) => job.id));
  const byStatus: Record<string, number> = {};
  for (const job of listed) byStatus[job.status] = (byStatus[job.status] ?? 0) + 1;
  const wrong: string[] = [];
  const missing: string[] = [];
  const pending: JobView[] = [];
  for (const job of flow) {
    const seen = byId.get(job.id);
    if (seen === undefined) {
      missing.push(job.id || job.key);
      continue;
    }
    if (!isTerminal(seen.status)) {
      pending.push(seen);
      continue;
    }
    const right =
      job.exitCode === 0
        ? seen.status === "succeeded"
        : seen.status === "failed" && seen.exitCode === job.exitCode;
    if (!right)
      wrong.push(
        `${seen.id} (${job.key}, exit ${job.exitCode}): ${seen.status} ${seen.exitCode} ${seen.reason}`,
      );
  }
  return {
    total: listed.length,
    byStatus,
    pending,
    wrong,
    unexpected: listed.filter((job) => !submitted.has(job.id)).map((job) => job.id),
    missing,
  };
}

import type { JobEventView, JobView } from "../../src/shared/api.js";

/** A user of the HTTP API, for end-to-end tests and benchmarks: plain fetch, as curl would. */
export class UserClient {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string,
  ) {}

  static async signup(baseUrl: string): Promise<UserClient> {
    const res = await fetch(`${baseUrl}/v1/accounts`, { method: "POST" });
    if (res.status !== 201) throw new Error(`signup answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { apiKey: string };
    return new UserClient(baseUrl, body.apiKey);
  }

  /**
   * Sends the request; resends it (twice at most) when wrangler dev's proxy lost it on the way to
   * workerd. Wrangler 4.86.0 answers such a POST with a 503 "Your worker restarted mid-request"
   * though the worker never restarted (workers-sdk#14641, fixed after our pin); it retries GETs
   * itself. A test that gets this answer learned nothing about the Worker, so it sends the request
   * again; a deployed Worker never gives it. (A resend of a request that did arrive shows as the
   * route's own answer to a repeat, e.g. 409, and fails the test plainly.)
   */
  async request(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}` };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    for (let tries = 1; ; tries++) {
      const res = await fetch(this.baseUrl + path, {
        method: init.method ?? "GET",
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      if (res.status !== 503 || tries > 2) return res;
      const text = await res.clone().text();
      if (!text.includes("restarted mid-request")) return res;
      await new Promise((resolve) => setTimeout(resolve, 200 * tries));
    }
  }

  async submit(spec: unknown): Promise<JobView> {
    const res = await this.request("/v1/jobs", { method: "POST", body: spec });
    if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as JobView;
  }

  async job(id: string): Promise<JobView> {
    const res = await this.request(`/v1/jobs/${id}`);
    if (res.status !== 200) throw new Error(`get job answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as JobView;
  }

  /** The job's transitions, oldest first. */
  async events(id: string): Promise<JobEventView[]> {
    const res = await this.request(`/v1/jobs/${id}/events`);
    if (res.status !== 200) throw new Error(`events answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { events: JobEventView[] }).events;
  }

  /** Polls the job until `done` holds for it, or fails after `ms`. */
  async waitFor(id: string, done: (job: JobView) => boolean, ms = 60_000, everyMs = 100): Promise<JobView> {
    const deadline = Date.now() + ms;
    let job = await this.job(id);
    while (!done(job)) {
      if (Date.now() > deadline)
        throw new Error(`job ${id} stuck in ${job.status} (${job.reason ?? "no reason"})`);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      job = await this.job(id);
    }
    return job;
  }
}

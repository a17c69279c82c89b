import type { JobView } from "../../src/shared/api.js";

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

  request(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}` };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    return fetch(this.baseUrl + path, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
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

import type { z } from "zod";
import { AccountCreated, JobEventList, JobList, JobView, NodeList } from "../shared/api.js";
import { FaucetResult } from "../shared/chain-api.js";
import { ErrorEnvelope } from "../shared/errors.js";
import type { JobStatus } from "../shared/job-status.js";
import { JobTemplate } from "../shared/templates/job-template.js";
import { CliError } from "./cli-error.js";

/** A parsed response body together with the JSON it came from, which `--json` prints as sent. */
export interface ApiResult<T> {
  readonly data: T;
  readonly raw: unknown;
}

export interface ApiClientOptions {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly fetch: typeof fetch;
}

export interface JobListQuery {
  readonly status?: JobStatus | undefined;
  readonly limit?: number | undefined;
  readonly cursor?: string | undefined;
}

/**
 * The user API over fetch. Every JSON response is checked against its schema from `src/shared/`,
 * and every error envelope becomes a `CliError` carrying the server's code and message.
 */
export class ApiClient {
  readonly #options: ApiClientOptions;

  constructor(options: ApiClientOptions) {
    this.#options = options;
  }

  /** The local chain's faucet (refused with 403 unless the control plane's chain is the local one). */
  devFaucet(body: { wallet: string; amount: string; token: string }): Promise<ApiResult<FaucetResult>> {
    return this.#json(FaucetResult, "POST", "/v1/dev/faucet", { body, auth: false });
  }

  createAccount(body: { name?: string | undefined }): Promise<ApiResult<AccountCreated>> {
    return this.#json(AccountCreated, "POST", "/v1/accounts", { body, auth: false });
  }

  /** Sends the spec as the user wrote it: the server applies defaults and money parsing itself. */
  submitJob(spec: unknown): Promise<ApiResult<JobView>> {
    return this.#json(JobView, "POST", "/v1/jobs", { body: spec });
  }

  listJobs(query: JobListQuery): Promise<ApiResult<JobList>> {
    const params = new URLSearchParams();
    if (query.status) params.set("status", query.status);
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.cursor) params.set("cursor", query.cursor);
    const search = params.size > 0 ? `?${params}` : "";
    return this.#json(JobList, "GET", `/v1/jobs${search}`);
  }

  getJob(id: string): Promise<ApiResult<JobView>> {
    return this.#json(JobView, "GET", `/v1/jobs/${encodeURIComponent(id)}`);
  }

  cancelJob(id: string): Promise<ApiResult<JobView>> {
    return this.#json(JobView, "POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  jobEvents(id: string): Promise<ApiResult<z.infer<typeof JobEventList>>> {
    return this.#json(JobEventList, "GET", `/v1/jobs/${encodeURIComponent(id)}/events`);
  }

  /** A pre-configured job (GET /v1/templates/:id), rendered with `--set` values by the caller. */
  getTemplate(id: string): Promise<ApiResult<JobTemplate>> {
    return this.#json(JobTemplate, "GET", `/v1/templates/${encodeURIComponent(id)}`, { auth: false });
  }

  listNodes(): Promise<ApiResult<z.infer<typeof NodeList>>> {
    return this.#json(NodeList, "GET", "/v1/nodes");
  }

  /** The job's log text as it arrives; with `follow` the server holds the stream open until the job ends. */
  async *jobLogs(id: string, follow: boolean): AsyncGenerator<string> {
    const path = `/v1/jobs/${encodeURIComponent(id)}/logs${follow ? "?follow=1" : ""}`;
    const response = await this.#send("GET", path, { accept: "text/plain" });
    if (!response.body) return;
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        if (text) yield text;
      }
      const rest = decoder.decode();
      if (rest) yield rest;
    } finally {
      reader.releaseLock();
    }
  }

  async #json<T>(
    schema: z.ZodType<T>,
    method: string,
    path: string,
    options: { body?: unknown; auth?: boolean } = {},
  ): Promise<ApiResult<T>> {
    const response = await this.#send(method, path, { accept: "application/json", ...options });
    const raw = await readJson(response);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new CliError(
        "bad_response",
        `${method} ${path} answered a body this CLI does not understand; is the CLI as new as the server?`,
        parsed.error.issues,
      );
    }
    return { data: parsed.data, raw };
  }

  async #send(
    method: string,
    path: string,
    options: { accept: string; body?: unknown; auth?: boolean },
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: options.accept };
    if (options.auth !== false) {
      if (!this.#options.apiKey) {
        throw new CliError(
          "no_api_key",
          "no API key: run `meridian signup`, or pass --api-key or set MERIDIAN_API_KEY",
        );
      }
      headers.authorization = `Bearer ${this.#options.apiKey}`;
    }
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const url = `${this.#options.baseUrl}${path}`;
    let response: Response;
    try {
      response = await this.#options.fetch(url, { method, headers, body });
    } catch (error) {
      throw new CliError(
        "unreachable",
        `cannot reach ${this.#options.baseUrl} (${describeFetchFailure(error)}); is the control plane running? (npm start)`,
      );
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError("bad_response", `expected JSON from the server, got: ${text.slice(0, 200)}`);
  }
}

async function toApiError(response: Response): Promise<CliError> {
  const text = await response.text().catch(() => "");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const envelope = ErrorEnvelope.safeParse(json);
  if (envelope.success) {
    const { code, message, details } = envelope.data.error;
    return new CliError(code, message, details);
  }
  const snippet = text.trim().slice(0, 200);
  return new CliError(`http_${response.status}`, snippet || response.statusText || "request failed");
}

function describeFetchFailure(error: unknown): string {
  // undici reports the socket error as the cause of a generic "fetch failed".
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error)
    return "code" in cause && typeof cause.code === "string" ? cause.code : cause.message;
  return error instanceof Error ? error.message : String(error);
}

import type { z } from "zod";
import {
  AccountCreated,
  type CreateAccountRequest,
  HealthView,
  JobEventList,
  JobEventView,
  JobList,
  type JobListQuery,
  JobView,
  NodeList,
  QuoteView,
} from "../api.js";
import { ApiKeyCreated, ApiKeyList, ApiKeyView, type CreateApiKeyRequest } from "../api-key-scopes.js";
import {
  type CreateTopupRequest,
  FaucetResult,
  SiwsChallenge,
  SiwsSignedIn,
  type SiwsVerifyRequest,
  TopupCreated,
  TopupView,
} from "../chain-api.js";
import type { JobSpec } from "../job-spec.js";
import {
  AccountEventsPage,
  type AccountEventsQuery,
  type AccountLimitsRequest,
  AccountLimitsView,
  BalanceView,
  type EarningsQuery,
  EarningsView,
  EstimateView,
  LedgerPage,
  type LedgerQuery,
  type UsageQuery,
  UsageView,
} from "../ledger-api.js";
import { NodeMetricsView, ProviderNodeView } from "../provider-api.js";
import { ReceiptView } from "../receipts/receipt-view.js";
import { RegionView } from "../regions.js";
import { OutputList } from "../storage/agent-storage-protocol.js";
import { type OutputDeleteQuery, OutputsDeleted } from "../storage/output-delete-api.js";
import { type SecretCreate, SecretList, SecretView } from "../storage/secrets-api.js";
import { JobTemplate } from "../templates/job-template.js";
import { ApiError } from "./api-error.js";
import { CLIENT_ROUTES } from "./client-routes.js";
import { EndpointsApi } from "./endpoints-api.js";
import {
  type ApiResult,
  type ClientOptions,
  HttpTransport,
  type JsonOptions,
  type RouteName,
} from "./http-transport.js";

export type { ApiResult, ClientOptions };
export { CLIENT_ROUTES };

/** A query schema's input, with coerced fields (whose zod input is `unknown`) as strings or numbers. */
type QueryOf<S extends z.ZodType> = {
  [K in keyof z.input<S>]: unknown extends z.input<S>[K] ? string | number | undefined : z.input<S>[K];
};

/** A job spec as a user writes it (the server fills defaults and parses money). */
export type JobSpecInput = z.input<typeof JobSpec>;

/**
 * The user API over fetch, shared by the CLI and the web console. Requests are typed by the input
 * side of the zod schemas the Worker validates with; every JSON answer is parsed with its
 * response schema, and every failure becomes an `ApiError`.
 */
export class MeridianClient {
  readonly #transport: HttpTransport;

  constructor(options: ClientOptions) {
    this.#transport = new HttpTransport(options);
  }

  get baseUrl(): string {
    return this.#transport.options.baseUrl;
  }

  /** Inference endpoints and the OpenAI-compatible surface (see endpoints-api.ts). */
  get endpoints(): EndpointsApi {
    return new EndpointsApi({
      json: (schema, route, options) => this.#transport.json(schema, route, options),
      send: (route, options) => this.#transport.send(route, options),
    });
  }

  /** The same client with another key (the console after sign-in). */
  withApiKey(apiKey: string | undefined): MeridianClient {
    return new MeridianClient({ ...this.#transport.options, apiKey });
  }

  health(): Promise<ApiResult<HealthView>> {
    return this.#json(HealthView, "health", { auth: false });
  }

  createAccount(body: z.input<typeof CreateAccountRequest> = {}): Promise<ApiResult<AccountCreated>> {
    return this.#json(AccountCreated, "createAccount", { body, auth: false });
  }

  /** Sends the spec as the user wrote it: the server applies defaults and money parsing itself. */
  submitJob(spec: unknown): Promise<ApiResult<JobView>> {
    return this.#json(JobView, "submitJob", { body: spec });
  }

  listJobs(query: QueryOf<typeof JobListQuery> = {}): Promise<ApiResult<JobList>> {
    return this.#json(JobList, "listJobs", { query });
  }

  getJob(id: string): Promise<ApiResult<JobView>> {
    return this.#json(JobView, "getJob", { params: { id } });
  }

  cancelJob(id: string): Promise<ApiResult<JobView>> {
    return this.#json(JobView, "cancelJob", { params: { id } });
  }

  /** Stops a running job keeping its checkpoint (status `paused` once its containers exited). */
  pauseJob(id: string, body: { keepForSeconds?: number } = {}): Promise<ApiResult<JobView>> {
    return this.#json(JobView, "pauseJob", { params: { id }, body });
  }

  /** Queues a paused job again, for any node that fits; it restores its checkpoint. */
  resumeJob(id: string): Promise<ApiResult<JobView>> {
    return this.#json(JobView, "resumeJob", { params: { id } });
  }

  jobEvents(id: string): Promise<ApiResult<z.infer<typeof JobEventList>>> {
    return this.#json(JobEventList, "jobEvents", { params: { id } });
  }

  estimate(spec: unknown): Promise<ApiResult<EstimateView>> {
    return this.#json(EstimateView, "estimate", { body: spec });
  }

  quote(spec: unknown): Promise<ApiResult<QuoteView>> {
    return this.#json(QuoteView, "quote", { body: spec });
  }

  listNodes(): Promise<ApiResult<z.infer<typeof NodeList>>> {
    return this.#json(NodeList, "listNodes");
  }

  nodeMetrics(id: string): Promise<ApiResult<NodeMetricsView>> {
    return this.#json(NodeMetricsView, "nodeMetrics", { params: { id } });
  }

  balance(): Promise<ApiResult<BalanceView>> {
    return this.#json(BalanceView, "balance");
  }

  ledger(query: QueryOf<typeof LedgerQuery> = {}): Promise<ApiResult<LedgerPage>> {
    return this.#json(LedgerPage, "ledger", { query });
  }

  usage(query: z.input<typeof UsageQuery>): Promise<ApiResult<UsageView>> {
    return this.#json(UsageView, "usage", { query: { ...query, format: "json" } });
  }

  /** The usage report as CSV text, for a download. */
  async usageCsv(query: Omit<z.input<typeof UsageQuery>, "format">): Promise<string> {
    const response = await this.#transport.send("usage", {
      accept: "text/csv",
      query: { ...query, format: "csv" },
    });
    return response.text();
  }

  limits(): Promise<ApiResult<AccountLimitsView>> {
    return this.#json(AccountLimitsView, "limits");
  }

  setLimits(body: z.input<typeof AccountLimitsRequest>): Promise<ApiResult<AccountLimitsView>> {
    return this.#json(AccountLimitsView, "setLimits", { body });
  }

  accountEvents(query: QueryOf<typeof AccountEventsQuery> = {}): Promise<ApiResult<AccountEventsPage>> {
    return this.#json(AccountEventsPage, "accountEvents", { query });
  }

  earnings(query: z.input<typeof EarningsQuery> = {}): Promise<ApiResult<EarningsView>> {
    return this.#json(EarningsView, "earnings", { query });
  }

  /** The local chain's faucet (refused with 403 unless the control plane's chain is the local one). */
  devFaucet(body: { wallet: string; amount: string; token: string }): Promise<ApiResult<FaucetResult>> {
    return this.#json(FaucetResult, "devFaucet", { body, auth: false });
  }

  /** A pre-configured job (GET /v1/templates/:id), rendered with `--set` values by the caller. */
  getTemplate(id: string): Promise<ApiResult<JobTemplate>> {
    return this.#json(JobTemplate, "getTemplate", { params: { id }, auth: false });
  }

  /** The account's API keys, newest first (ids, names, scopes; never a secret). */
  listKeys(): Promise<ApiResult<ApiKeyList>> {
    return this.#json(ApiKeyList, "listKeys");
  }

  /** A new key with these scopes; its secret is in this answer only. Needs a full key. */
  createKey(body: z.input<typeof CreateApiKeyRequest>): Promise<ApiResult<ApiKeyCreated>> {
    return this.#json(ApiKeyCreated, "createKey", { body });
  }

  /** Revokes a key at once (revoking a revoked key answers it as it is). Needs a full key. */
  revokeKey(id: string): Promise<ApiResult<ApiKeyView>> {
    return this.#json(ApiKeyView, "revokeKey", { params: { id } });
  }

  jobOutputs(id: string): Promise<ApiResult<z.infer<typeof OutputList>>> {
    return this.#json(OutputList, "jobOutputs", { params: { id } });
  }

  /** Deletes the job's output files now (or the one at `path`); billing for them stops. */
  deleteJobOutputs(id: string, query: OutputDeleteQuery = {}): Promise<ApiResult<OutputsDeleted>> {
    return this.#json(OutputsDeleted, "deleteJobOutputs", { params: { id }, query });
  }

  listSecrets(): Promise<ApiResult<z.infer<typeof SecretList>>> {
    return this.#json(SecretList, "listSecrets");
  }

  putSecret(body: z.input<typeof SecretCreate>): Promise<ApiResult<SecretView>> {
    return this.#json(SecretView, "putSecret", { body });
  }

  async deleteSecret(name: string): Promise<void> {
    await this.#transport.send("deleteSecret", { accept: "application/json", params: { name } });
  }

  createTopup(body: z.input<typeof CreateTopupRequest>): Promise<ApiResult<TopupCreated>> {
    return this.#json(TopupCreated, "createTopup", { body });
  }

  /** Reading a top-up makes the server look for its payment on chain (and credit it once final). */
  getTopup(id: string): Promise<ApiResult<TopupView>> {
    return this.#json(TopupView, "getTopup", { params: { id } });
  }

  /** Sign In With Solana: the message the wallet must sign for this address. */
  walletChallenge(address: string): Promise<ApiResult<z.infer<typeof SiwsChallenge>>> {
    return this.#json(SiwsChallenge, "walletChallenge", { body: { address }, auth: false });
  }

  walletVerify(body: z.input<typeof SiwsVerifyRequest>): Promise<ApiResult<z.infer<typeof SiwsSignedIn>>> {
    return this.#json(SiwsSignedIn, "walletVerify", { body, auth: false });
  }

  /** A receipt with its Merkle proof and anchor (GET /v1/receipts/:id). */
  getReceipt(id: string): Promise<ApiResult<ReceiptView>> {
    return this.#json(ReceiptView, "getReceipt", { params: { id } });
  }

  /** A region and the key its receipt countersignatures verify with (GET /v1/regions/:id). */
  getRegion(id: string): Promise<ApiResult<RegionView>> {
    return this.#json(RegionView, "getRegion", { params: { id }, auth: false });
  }

  providerNodes(): Promise<ApiResult<z.infer<typeof NodeList>>> {
    return this.#json(NodeList, "providerNodes");
  }

  providerNode(id: string): Promise<ApiResult<ProviderNodeView>> {
    return this.#json(ProviderNodeView, "providerNode", { params: { id } });
  }

  /**
   * The job's log text as it arrives; with `follow` the server streams until the job ends (or
   * its 15-minute limit: then `ended` is false and the caller may follow again).
   */
  async *jobLogs(id: string, follow: boolean, signal?: AbortSignal): AsyncGenerator<string> {
    yield* this.#text("jobLogs", id, "text/plain", follow ? { follow: "1" } : {}, signal);
  }

  /** The job's events as they are recorded, until its final one (see GET /v1/jobs/:id/events/stream). */
  async *streamJobEvents(id: string, signal?: AbortSignal): AsyncGenerator<JobEventView> {
    let buffer = "";
    for await (const text of this.#text("streamJobEvents", id, "application/x-ndjson", {}, signal)) {
      buffer += text;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) {
          const parsed = JobEventView.safeParse(JSON.parse(line));
          if (!parsed.success)
            throw new ApiError(
              200,
              "bad_response",
              "the event stream sent an event this client does not understand",
            );
          yield parsed.data;
        }
        newline = buffer.indexOf("\n");
      }
    }
  }

  #json<T>(schema: z.ZodType<T>, route: RouteName, options?: JsonOptions): Promise<ApiResult<T>> {
    return this.#transport.json(schema, route, options);
  }

  #text(
    route: RouteName,
    id: string,
    accept: string,
    query: Record<string, string>,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<string> {
    return this.#transport.text(route, { accept, params: { id }, query, ...(signal ? { signal } : {}) });
  }
}

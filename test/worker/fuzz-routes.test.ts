import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CreateAccountRequest, JobListQuery, LogsQuery } from "../../src/shared/api.js";
import { CreateApiKeyRequest } from "../../src/shared/api-key-scopes.js";
import { AuditQuery } from "../../src/shared/audit.js";
import {
  CreateTopupRequest,
  FaucetRequest,
  SiwsChallengeRequest,
  SiwsVerifyRequest,
} from "../../src/shared/chain-api.js";
import { CpuPriceSuggestQuery } from "../../src/shared/cpu-price-suggestion.js";
import { DisputeBody, DisputeDecisionBody, DisputeListQuery } from "../../src/shared/dispute-api.js";
import { EndpointPatch, EndpointSpec } from "../../src/shared/endpoints/endpoint-spec.js";
import { JobSpec } from "../../src/shared/job-spec.js";
import {
  AccountEventsQuery,
  AccountLimitsRequest,
  CreditRequest,
  EarningsQuery,
  LedgerQuery,
  UsageQuery,
} from "../../src/shared/ledger-api.js";
import { PayoutListQuery } from "../../src/shared/payout-api.js";
import { PriceSuggestQuery } from "../../src/shared/pricing.js";
import { SlashRequest, StakeDepositRequest, UnstakeRequest } from "../../src/shared/staking-api.js";
import { OutputDeleteQuery } from "../../src/shared/storage/output-delete-api.js";
import { PauseRequest } from "../../src/shared/storage/pause-api.js";
import { SecretCreate } from "../../src/shared/storage/secrets-api.js";
import { SweepItemsQuery } from "../../src/shared/storage/sweep-api.js";
import { BurnListQuery } from "../../src/shared/token-api.js";
import { app } from "../../src/worker/app.js";
import { fuzzValue, hostileHeader, hostileString, pathSegment, safeText } from "./fuzz-arbitraries.js";
import { dispatch } from "./fuzz-dispatch.js";
import { storedTotals } from "./fuzz-state.js";
import { FuzzTimedWork } from "./fuzz-timed-work.js";
import { runReceipts, storageCharge } from "./storage-receipt-support.js";
import { drainAgents, h100Numbered, hardware, jsonInit, ownedAgent, submit } from "./support.js";

type Auth = "key" | "operator" | "none";

/** What the OpenAI-compatible routes read of a body (the rest goes to the engine). */
const InferenceFuzzBody = z.object({ model: z.string().max(80), stream: z.boolean().optional() });

interface RouteFuzz {
  body?: z.ZodType;
  query?: z.ZodType;
  auth: Auth;
}

/**
 * Every user route of the app and the schemas of what it reads. A route in the app and not here
 * fails the first test, so a new route is fuzzed from the day it lands. (The agent protocol has its
 * own fuzz, fuzz-agent.test.ts, with signed requests.)
 */
const ROUTES: Record<string, RouteFuzz> = {
  "GET /v1/health": { auth: "none" },
  "GET /v1/regions": { auth: "none" },
  "GET /v1/regions/:id": { auth: "none" },
  "POST /v1/accounts": { body: CreateAccountRequest, auth: "none" },
  "POST /v1/jobs": { body: JobSpec, auth: "key" },
  "GET /v1/jobs": { query: JobListQuery, auth: "key" },
  "GET /v1/jobs/:id": { auth: "key" },
  "GET /v1/jobs/:id/events": { auth: "key" },
  "GET /v1/jobs/:id/events/stream": { auth: "key" },
  "GET /v1/jobs/:id/attempts": { auth: "key" },
  "POST /v1/jobs/:id/attempts/:attempt/dispute": { body: DisputeBody, auth: "key" },
  "GET /v1/jobs/:id/attempts/:attempt/dispute": { auth: "key" },
  "GET /v1/operator/disputes": { query: DisputeListQuery, auth: "operator" },
  "POST /v1/operator/disputes/:id/decision": { body: DisputeDecisionBody, auth: "operator" },
  "GET /v1/openapi.json": { auth: "none" },
  "POST /v1/jobs/:id/cancel": { auth: "key" },
  "POST /v1/jobs/:id/pause": { body: PauseRequest, auth: "key" },
  "POST /v1/jobs/:id/resume": { auth: "key" },
  "GET /v1/jobs/:id/checkpoints": { auth: "key" },
  "DELETE /v1/jobs/:id/checkpoints": { auth: "key" },
  "GET /v1/jobs/:id/logs": { query: LogsQuery, auth: "key" },
  "GET /v1/nodes": { auth: "key" },
  "GET /v1/nodes/:id/metrics": { auth: "key" },
  "GET /v1/balance": { auth: "key" },
  "GET /v1/ledger": { query: LedgerQuery, auth: "key" },
  "GET /v1/usage": { query: UsageQuery, auth: "key" },
  "GET /v1/provider/earnings": { query: EarningsQuery, auth: "key" },
  "GET /v1/provider/nodes": { auth: "key" },
  "GET /v1/provider/nodes/:id": { auth: "key" },
  "GET /v1/provider/nodes/:id/reputation": { auth: "key" },
  "POST /v1/operator/nodes/:id/lift": { auth: "operator" },
  "GET /v1/operator/storage/sweeps": { query: SweepItemsQuery, auth: "operator" },
  "POST /v1/estimates": { body: JobSpec, auth: "key" },
  "POST /v1/quotes": { body: JobSpec, auth: "key" },
  "POST /v1/credits": { body: CreditRequest, auth: "operator" },
  "GET /v1/pricing/suggest": { query: PriceSuggestQuery, auth: "key" },
  "GET /v1/pricing/cpu": { auth: "key" },
  "GET /v1/pricing/cpu/suggest": { query: CpuPriceSuggestQuery, auth: "key" },
  "GET /v1/account/limits": { auth: "key" },
  "PUT /v1/account/limits": { body: AccountLimitsRequest, auth: "key" },
  "GET /v1/account/events": { query: AccountEventsQuery, auth: "key" },
  "GET /v1/account/keys": { auth: "key" },
  "POST /v1/account/keys": { body: CreateApiKeyRequest, auth: "key" },
  "DELETE /v1/account/keys/:id": { auth: "key" },
  "GET /v1/account/audit": { query: AuditQuery, auth: "key" },
  "GET /v1/account/referral": { auth: "key" },
  "POST /v1/account/referral": { auth: "key" },
  "GET /v1/jobs/:id/outputs": { auth: "key" },
  "DELETE /v1/jobs/:id/outputs": { query: OutputDeleteQuery, auth: "key" },
  "POST /v1/secrets": { body: SecretCreate, auth: "key" },
  "GET /v1/secrets": { auth: "key" },
  "DELETE /v1/secrets/:name": { auth: "key" },
  "POST /v1/uploads": { auth: "key" },
  "GET /v1/templates": { auth: "key" },
  "GET /v1/templates/:id": { auth: "key" },
  "GET /v1/storage/r2/:token": { auth: "none" },
  "PUT /v1/storage/r2/:token": { auth: "none" },
  "GET /v1/storage/ipfs/:cid": { auth: "none" },
  "POST /v1/provider/payout-wallet/challenge": { body: SiwsChallengeRequest, auth: "key" },
  "PUT /v1/provider/payout-wallet": { body: SiwsVerifyRequest, auth: "key" },
  "GET /v1/provider/payout-wallet": { auth: "key" },
  "GET /v1/provider/payouts": { query: PayoutListQuery, auth: "key" },
  "POST /v1/operator/payouts/run": { auth: "operator" },
  "GET /v1/operator/payouts/last": { auth: "operator" },
  "POST /v1/operator/receipts/run": { auth: "operator" },
  "POST /v1/operator/burns/run": { auth: "operator" },
  "GET /v1/provider/staking/:nodeId": { auth: "key" },
  "POST /v1/provider/staking/:nodeId/deposits": { body: StakeDepositRequest, auth: "key" },
  "POST /v1/provider/staking/:nodeId/unstake": { body: UnstakeRequest, auth: "key" },
  "POST /v1/operator/staking/run": { auth: "operator" },
  "POST /v1/operator/staking/:nodeId/slash": { body: SlashRequest, auth: "operator" },
  "GET /v1/token/stats": { auth: "none" },
  "GET /v1/token/burns": { query: BurnListQuery, auth: "none" },
  "GET /v1/receipts/:id": { auth: "key" },
  "POST /v1/auth/wallet/challenge": { body: SiwsChallengeRequest, auth: "none" },
  "POST /v1/auth/wallet/verify": { body: SiwsVerifyRequest, auth: "none" },
  "POST /v1/dev/faucet": { body: FaucetRequest, auth: "key" },
  "POST /v1/topups": { body: CreateTopupRequest, auth: "key" },
  "GET /v1/topups/:id": { auth: "key" },
  "GET /v1/topups/:id/qr.svg": { auth: "key" },
  "POST /v1/endpoints": { body: EndpointSpec, auth: "key" },
  "GET /v1/endpoints": { auth: "key" },
  "GET /v1/endpoints/:id": { auth: "key" },
  "PATCH /v1/endpoints/:id": { body: EndpointPatch, auth: "key" },
  "DELETE /v1/endpoints/:id": { auth: "key" },
  "GET /v1/endpoints/:id/replicas": { auth: "key" },
  "GET /v1/endpoints/:id/events": { auth: "key" },
  "GET /v1/endpoints/:id/metrics": { auth: "key" },
  "POST /v1/chat/completions": { body: InferenceFuzzBody, auth: "key" },
  "POST /v1/completions": { body: InferenceFuzzBody, auth: "key" },
  "POST /v1/embeddings": { body: InferenceFuzzBody, auth: "key" },
  "GET /v1/models": { auth: "key" },
};

/**
 * Cases per run. .ci/run sets FUZZ_CASES=8500 and FUZZ_AGENT_CASES=1500 (10,000 per CI run); a
 * plain `npm test` on a 2-core dev machine runs fewer to stay within its time budget.
 */
const CASES = Number((env as { FUZZ_CASES?: string }).FUZZ_CASES || "1000");

function appRoutes(): string[] {
  return [
    ...new Set(
      app.routes
        .filter((route) => route.method !== "ALL" && !route.path.startsWith("/v1/agent/"))
        .map((route) => `${route.method} ${route.path}`),
    ),
  ];
}

let ids: string[] = [];
let keys: string[] = [];

beforeAll(async () => {
  const { agent, apiKey, accountId } = await ownedAgent(hardware([h100Numbered(900)]));
  const other = await ownedAgent(hardware([h100Numbered(901)]));
  // The nodes take no work: a job placed on them, which never poll, would lose its attempt when
  // the lease lapsed 45 s later, and that timed work (its hold released) would land mid-case.
  await drainAgents();
  const job = (await (
    await submit(apiKey, { name: "fuzz", image: "busybox", timeoutSeconds: 60 })
  ).json()) as { id: string };
  const key = (await (
    await exports.default.fetch(
      new Request("http://meridian.test/v1/account/keys", jsonInit("POST", { scopes: ["read"] }, apiKey)),
    )
  ).json()) as { id: string };
  // A storage charge's receipt: GET /v1/receipts/:id is fuzzed with a real tx_ id too.
  const receipt = await storageCharge(accountId, "job_fuzz_storage");
  await runReceipts();
  ids = [job.id, agent.nodeId, other.agent.nodeId, key.id, receipt];
  keys = [apiKey, other.apiKey];
});

function caseArbitrary(): fc.Arbitrary<{ route: string; request: Request }> {
  const entries = Object.entries(ROUTES);
  return fc
    .constantFrom(...entries)
    .chain(([route, fuzz]) =>
      fc.record({
        route: fc.constant(route),
        fuzz: fc.constant(fuzz),
        body: fuzzValue(fuzz.body),
        rawBody: fc.option(
          fc.oneof(hostileString, fc.constantFrom("{", "[1,", '{"a":}', "\ufeff{}", "{}".repeat(3))),
          { freq: 8 },
        ),
        query: fuzzValue(fuzz.query),
        extraQuery: fc.dictionary(
          fc.constantFrom("limit", "cursor", "status", "follow", "x", "format"),
          hostileString,
          { maxKeys: 2 },
        ),
        id: fc.oneof(fc.constantFrom(...ids), hostileString),
        auth: fc.constantFrom("right", "right", "right", "other", "garbage", "none", "operator"),
        contentType: fc.constantFrom(
          "application/json",
          "application/json",
          "text/plain",
          "application/json; charset=utf-8",
          undefined,
          "multipart/form-data; boundary=x",
        ),
        idempotencyKey: fc.option(hostileHeader, { freq: 4 }),
        address: fc.option(fc.ipV4(), { freq: 2 }),
      }),
    )
    .map((c) => {
      const [method = "GET", template = "/"] = c.route.split(" ");
      const path = template.replace(/:(id|name|token|cid)\b/, pathSegment(c.id));
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries({ ...asRecord(c.query), ...c.extraQuery })) {
        if (value !== undefined) params.append(key, safeText(value));
      }
      const headers = new Headers();
      const token = authToken(c.fuzz.auth, c.auth);
      if (token !== undefined) headers.set("authorization", token);
      if (c.contentType !== undefined) headers.set("content-type", c.contentType);
      if (c.idempotencyKey !== null) headers.set("idempotency-key", c.idempotencyKey.trim());
      if (c.address !== null) headers.set("cf-connecting-ip", c.address);
      const hasBody = method !== "GET" && method !== "HEAD";
      const body = c.rawBody ?? (c.body === undefined ? undefined : safeText(c.body));
      const query = params.toString();
      return {
        route: c.route,
        request: new Request(`http://meridian.test${path}${query ? `?${query}` : ""}`, {
          method,
          headers,
          ...(hasBody && body !== undefined ? { body } : {}),
        }),
      };
    });
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function authToken(route: Auth, choice: string): string | undefined {
  if (choice === "none") return undefined;
  if (choice === "garbage") return "Bearer mrd_zz_notakey";
  if (choice === "operator" || (route === "operator" && choice === "right"))
    return "Bearer test-operator-token";
  return `Bearer ${choice === "other" ? keys[1] : keys[0]}`;
}

describe("fuzzing every user route from its zod schema", () => {
  it("has an entry for every route the app serves", () => {
    expect(appRoutes().filter((route) => !(route in ROUTES))).toEqual([]);
  });

  it(`${CASES} cases: never a 5xx or a dropped request; every error is the JSON envelope; a 4xx changes nothing stored`, async () => {
    const timed = new FuzzTimedWork();
    let before = await storedTotals();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(caseArbitrary(), async ({ route, request }) => {
        const label = `${route} ${request.url}`;
        if (await timed.settle()) before = await storedTotals();
        const body =
          route === "POST /v1/jobs/:id/pause"
            ? new TextDecoder().decode(await request.clone().arrayBuffer())
            : undefined;
        const sentAt = Date.now();
        const response = await dispatch(request);
        if (body !== undefined && response.status < 300) timed.paused(body, sentAt, Date.now());
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, label).toBeLessThan(500);
        if (response.status >= 400) {
          const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
          expect(typeof body.error?.code, label).toBe("string");
          expect(typeof body.error?.message, label).toBe("string");
        } else {
          // A followed log streams until the job ends: the status is what is checked here.
          await response.body?.cancel();
        }
        const after = await storedTotals();
        if (response.status >= 400 && JSON.stringify(after) !== JSON.stringify(before)) {
          // What appeared, so a failure names its writer (a transfer's kind, key and job).
          const newest = await env.DB.prepare(
            "SELECT kind, amount_micros, idempotency_key, created_at FROM ledger_transfers ORDER BY rowid DESC LIMIT 2",
          ).all();
          expect(
            after,
            `${label} answered ${response.status} and changed state (newest transfers: ${JSON.stringify(newest.results)}, at ${Date.now()})`,
          ).toEqual(before);
        }
        before = after;
      }),
      { numRuns: CASES, seed: Number((env as { FUZZ_SEED?: string }).FUZZ_SEED || Date.now() % 2 ** 31) },
    );
    const totals = await storedTotals();
    expect(totals.ledgerBalanceSum).toBe(0);
    console.log(`fuzz: ${CASES} cases, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  }, 900_000);
});

import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/worker/app.js";
import { runReceipts, storageCharge } from "./storage-receipt-support.js";
import { authed, call, h100Numbered, hardware, jsonInit, ownedAgent, submit } from "./support.js";

interface Owner {
  apiKey: string;
  ids: { job: string; node: string; key: string; topup: string; endpoint: string; receipt: string };
}

type IdKind = keyof Owner["ids"];

/**
 * Every route that takes an id, and which of an account's ids it takes. A route added to the app
 * with a path parameter and missing here fails the first test: it must say whose ids it answers.
 */
const ACCOUNT_ROUTES: Record<string, IdKind> = {
  "GET /v1/jobs/:id": "job",
  "GET /v1/jobs/:id/logs": "job",
  "GET /v1/jobs/:id/events/stream": "job",
  "GET /v1/jobs/:id/events": "job",
  "POST /v1/jobs/:id/cancel": "job",
  "POST /v1/jobs/:id/pause": "job",
  "POST /v1/jobs/:id/resume": "job",
  "GET /v1/jobs/:id/attempts": "job",
  "POST /v1/jobs/:id/attempts/:attempt/dispute": "job",
  "GET /v1/jobs/:id/attempts/:attempt/dispute": "job",
  "GET /v1/provider/nodes/:id": "node",
  "GET /v1/provider/nodes/:id/reputation": "node",
  "DELETE /v1/account/keys/:id": "key",
  "GET /v1/topups/:id": "topup",
  "GET /v1/topups/:id/qr.svg": "topup",
  "GET /v1/jobs/:id/outputs": "job",
  "DELETE /v1/jobs/:id/outputs": "job",
  "GET /v1/endpoints/:id": "endpoint",
  "PATCH /v1/endpoints/:id": "endpoint",
  "DELETE /v1/endpoints/:id": "endpoint",
  "GET /v1/endpoints/:id/replicas": "endpoint",
  "GET /v1/endpoints/:id/events": "endpoint",
  "GET /v1/endpoints/:id/metrics": "endpoint",
  "GET /v1/jobs/:id/checkpoints": "job",
  "DELETE /v1/jobs/:id/checkpoints": "job",
  "GET /v1/provider/staking/:nodeId": "node",
  "GET /v1/receipts/:id": "receipt",
};

/** The id in a route's path (`:id`, or `:nodeId` on the staking routes). */
const ID_PARAM = /:(id|nodeId)\b/;

/** Routes whose ids are not an account's: why each is exempt. */
const NOT_ACCOUNT_SCOPED: Record<string, string> = {
  "GET /v1/nodes/:id/metrics": "the public inventory: every account may see every listed node's health",
  "POST /v1/operator/nodes/:id/lift": "operator token, not an account",
  "POST /v1/operator/disputes/:id/decision": "operator token, not an account",
  "GET /v1/templates/:id": "the public template catalogue, the same for everyone",
  "GET /v1/regions/:id": "a region's public facts and receipt-signing key, the same for everyone",
  "DELETE /v1/secrets/:name": "names, not ids: a name only ever means one of the caller's own secrets",
  "GET /v1/storage/r2/:token": "a presigned token carries its own authority, not an account's",
  "PUT /v1/storage/r2/:token": "a presigned token carries its own authority, not an account's",
  "GET /v1/storage/ipfs/:cid": "content addressed: a CID names public content",
  "POST /v1/operator/staking/:nodeId/slash": "operator token, not an account",
  "POST /v1/provider/staking/:nodeId/deposits":
    "the same owner check as GET /v1/provider/staking/:nodeId (ownNode), after the body is validated: this test's empty body answers 400 first",
  "POST /v1/provider/staking/:nodeId/unstake":
    "the same owner check as GET /v1/provider/staking/:nodeId (ownNode), after the body is validated: this test's empty body answers 400 first",
};

function routesWithIds(): string[] {
  return [
    ...new Set(
      app.routes
        .filter((route) => route.path.includes("/:") && route.method !== "ALL")
        .filter((route) => !route.path.startsWith("/v1/agent/"))
        .map((route) => `${route.method} ${route.path}`),
    ),
  ];
}

const owners: Owner[] = [];

beforeAll(async () => {
  for (let i = 0; i < 4; i++) {
    const { agent, apiKey, accountId } = await ownedAgent(hardware([h100Numbered(100 + i)]));
    // Nothing polls for it, so the job stays where placement left it while the test runs.
    const submitted = await submit(apiKey, { name: `cross-${i}`, image: "busybox", timeoutSeconds: 60 });
    if (submitted.status !== 201)
      throw new Error(`submit answered ${submitted.status} ${await submitted.text()}`);
    const job = (await submitted.json()) as { id: string };
    const key = (await (
      await call("/v1/account/keys", jsonInit("POST", { scopes: ["read"] }, apiKey))
    ).json()) as {
      id: string;
    };
    const topup = (await (
      await call("/v1/topups", jsonInit("POST", { token: "usdc", amount: "1" }, apiKey))
    ).json()) as { id: string };
    // Scaled to zero, so the endpoint places no replica jobs while the test runs.
    const endpoint = (await (
      await call(
        "/v1/endpoints",
        jsonInit(
          "POST",
          {
            name: `cross-${i}`,
            image: "meridian/llm:test",
            port: 8080,
            readiness: { path: "/health" },
            resources: { cpus: 1, memoryGb: 1 },
            regions: ["eu-west"],
            replicas: { min: 0, max: 1 },
          },
          apiKey,
        ),
      )
    ).json()) as { id: string };
    // A storage charge's receipt, read by its tx_ id (charge receipts' attempt ids need a settled run).
    const receipt = await storageCharge(accountId, `job_cross_${i}`);
    owners.push({
      apiKey,
      ids: { job: job.id, node: agent.nodeId, key: key.id, topup: topup.id, endpoint: endpoint.id, receipt },
    });
  }
  await runReceipts();
});

async function storedState(): Promise<string> {
  const rows = await env.DB.batch([
    env.DB.prepare("SELECT id, status FROM jobs ORDER BY id"),
    env.DB.prepare("SELECT id, revoked_at FROM api_keys ORDER BY id"),
    env.DB.prepare("SELECT count(*) AS n, coalesce(sum(amount_micros), 0) AS s FROM ledger_transfers"),
  ]);
  return JSON.stringify(rows.map((result) => result.results));
}

describe("another account's ids answer 404, on every route that takes one", () => {
  it("knows every route with an id in the app", () => {
    const unknown = routesWithIds().filter(
      (route) => !(route in ACCOUNT_ROUTES) && !(route in NOT_ACCOUNT_SCOPED),
    );
    expect(unknown, "add these to ACCOUNT_ROUTES (or NOT_ACCOUNT_SCOPED, with the reason)").toEqual([]);
  });

  it("answers the owner, and 404 to every other account, for random pairs and routes (nothing changes)", async () => {
    const routes = Object.entries(ACCOUNT_ROUTES);
    // The control: each owner reaches its own resources (reads only; cancel and revoke would act).
    for (const owner of owners) {
      // Top-ups are left out of the control: reading one asks the chain, which this suite may lack.
      // So are routes under an attempt: the job is the owner's, the attempt placeholder is no id.
      for (const [route, kind] of routes.filter(
        ([route, kind]) => route.startsWith("GET ") && kind !== "topup" && !route.includes(":attempt"),
      )) {
        const path = route.slice(4).replace(ID_PARAM, owner.ids[kind]);
        expect((await call(path, authed(owner.apiKey))).status, `${route} for its owner`).toBe(200);
      }
    }
    const before = await storedState();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: owners.length - 1 }),
        fc.integer({ min: 1, max: owners.length - 1 }),
        fc.constantFrom(...routes),
        async (caller, offset, [route, kind]) => {
          const victim = owners[(caller + offset) % owners.length];
          const thief = owners[caller];
          if (victim === undefined || thief === undefined) throw new Error("no such owner");
          const [method = "GET", template = ""] = route.split(" ");
          const res = await call(template.replace(ID_PARAM, victim.ids[kind]), authed(thief.apiKey, method));
          const body = (await res.json()) as { error?: { code?: string } };
          expect(res.status, `${route} of another account`).toBe(404);
          expect(body.error?.code).toMatch(/not_found$/);
        },
      ),
      { numRuns: 100 },
    );
    expect(await storedState()).toBe(before);
  }, 60_000);
});

import { describe, expect, it } from "vitest";
import { app } from "../../src/worker/app.js";
import { documentedExample } from "../../src/worker/openapi/examples.js";
import { call } from "./support.js";

interface MediaJson {
  schema?: unknown;
  example?: unknown;
}
interface OperationJson {
  operationId?: string;
  summary?: string;
  tags?: string[];
  requestBody?: { content?: Record<string, MediaJson> };
  responses?: Record<string, { content?: Record<string, MediaJson> }>;
}
interface DocumentJson {
  openapi: string;
  paths: Record<string, Record<string, OperationJson>>;
}

async function fetchDocument(): Promise<DocumentJson> {
  const res = await call("/v1/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("application/json");
  return (await res.json()) as DocumentJson;
}

/**
 * Routes merged before they had a doc({...}): each owner adds one (CONTRIBUTING.md) and deletes its
 * line here. Only this list may be missing, and a listed route that gains a doc fails the test
 * until it is taken off, so the list only shrinks; a new undocumented route fails at once.
 */
const NOT_YET_DOCUMENTED = new Set([
  "delete /v1/account/keys/{id}",
  "delete /v1/secrets/{name}",
  "get /v1/account/audit",
  "get /v1/account/keys",
  "get /v1/agent/presence",
  "post /v1/agent/reclaim",
  "get /v1/jobs/{id}/outputs",
  "get /v1/provider/payout-wallet",
  "get /v1/secrets",
  "get /v1/storage/ipfs/{cid}",
  "get /v1/storage/r2/{token}",
  "get /v1/templates",
  "get /v1/templates/{id}",
  "get /v1/topups/{id}",
  "get /v1/topups/{id}/qr.svg",
  "post /v1/topups",
  "post /v1/account/keys",
  "post /v1/agent/attempts/{attemptId}/storage/checkpoint/blobs",
  "post /v1/agent/attempts/{attemptId}/storage/checkpoint/commit",
  "post /v1/agent/attempts/{attemptId}/storage/grant",
  "post /v1/agent/attempts/{attemptId}/storage/outputs/begin",
  "post /v1/agent/attempts/{attemptId}/storage/outputs/complete",
  "post /v1/auth/wallet/challenge",
  "post /v1/auth/wallet/verify",
  "post /v1/dev/faucet",
  "post /v1/provider/payout-wallet/challenge",
  "post /v1/secrets",
  "post /v1/uploads",
  "put /v1/provider/payout-wallet",
  "put /v1/storage/r2/{token}",
]);

/** `/v1/jobs/:id/logs` → `/v1/jobs/{id}/logs`, as OpenAPI writes a path. */
const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and describes every route the app serves", async () => {
    const document = await fetchDocument();
    expect(document.openapi).toBe("3.1.0");
    const served = new Set(
      app.routes
        .filter((route) => route.method !== "ALL")
        .map((route) => `${route.method.toLowerCase()} ${openApiPath(route.path)}`),
    );
    expect(served.size).toBeGreaterThan(20);
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method} ${path}`),
      ),
    );
    // A route listed here has no doc({...}) among its handlers: see CONTRIBUTING.md.
    const missing = [...served].filter((route) => !documented.has(route));
    expect(missing.filter((route) => !NOT_YET_DOCUMENTED.has(route)).sort()).toEqual([]);
    // Documented now, or gone: take it off NOT_YET_DOCUMENTED.
    expect([...NOT_YET_DOCUMENTED].filter((route) => !missing.includes(route)).sort()).toEqual([]);
    expect([...documented].filter((route) => !served.has(route)).sort()).toEqual([]);
  });

  it("gives every operation an id, a summary, a tag, a success and the error envelope", async () => {
    const document = await fetchDocument();
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method} ${path}`;
        expect(operation.operationId, where).toBeTypeOf("string");
        expect(ids.has(operation.operationId ?? ""), `${where}: duplicate operationId`).toBe(false);
        ids.add(operation.operationId ?? "");
        expect(operation.summary, where).toBeTruthy();
        expect(operation.tags?.length, where).toBe(1);
        const statuses = Object.keys(operation.responses ?? {});
        expect(
          statuses.some((status) => status.startsWith("2")),
          where,
        ).toBe(true);
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          const schema = operation.responses?.[status]?.content?.["application/json"]?.schema;
          expect(JSON.stringify(schema), `${where} ${status}`).toContain('"code"');
        }
        if (path.includes("{")) expect(statuses, where).toContain("404");
      }
    }
  });

  it("converts the routes' own zod schemas: the job spec's limits and refusals show", async () => {
    const document = await fetchDocument();
    const submit = document.paths["/v1/jobs"]?.post;
    const schema = JSON.stringify(submit?.requestBody?.content?.["application/json"]?.schema);
    expect(schema).toContain('"additionalProperties":false');
    expect(schema).toContain('"maxPricePerGpuHour"');
    expect(Object.keys(submit?.responses ?? {})).toEqual(
      expect.arrayContaining(["201", "400", "401", "402"]),
    );
    const usage = document.paths["/v1/usage"]?.get as { parameters?: { name: string; required: boolean }[] };
    expect(usage.parameters?.filter((p) => p.required).map((p) => p.name)).toEqual(["from", "to"]);
  });

  it("holds only examples that validate against their schema", async () => {
    const document = await fetchDocument();
    let checked = 0;
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const places: ["body" | "response", MediaJson | undefined][] = [
          ["body", operation.requestBody?.content?.["application/json"]],
          ...Object.values(operation.responses ?? {}).map((response): ["response", MediaJson | undefined] => [
            "response",
            response.content?.["application/json"],
          ]),
        ];
        for (const [where, media] of places) {
          if (media?.example === undefined) continue;
          const entry = documentedExample(operation.operationId ?? "", where);
          expect(entry, `${method} ${path} ${where}: an example not given through doc()`).toBeDefined();
          expect(entry?.example).toEqual(media.example);
          const parsed = entry?.schema.safeParse(media.example);
          expect(parsed?.error?.issues ?? [], `${method} ${path} ${where}`).toEqual([]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});

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
    expect([...served].filter((route) => !documented.has(route)).sort()).toEqual([]);
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
        // A WebSocket route succeeds with 101, every other with a 2xx.
        expect(
          statuses.some((status) => status.startsWith("2") || status === "101"),
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

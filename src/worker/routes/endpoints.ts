import { and, desc, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { endpoints } from "../../../schema/endpoints.js";
import { accountDirectory } from "../../durable/endpoints/gateway-directory.js";
import { type RpcResult, unwrap } from "../../durable/rpc-result.js";
import { EndpointPatch, EndpointSpec } from "../../shared/endpoints/endpoint-spec.js";
import {
  EndpointEvent,
  EndpointMetrics,
  EndpointView,
  ReplicaView,
} from "../../shared/endpoints/endpoint-views.js";
import { MeridianError } from "../../shared/errors.js";
import { idPattern, newId } from "../../shared/ids.js";
import { formatUsd } from "../../shared/money.js";
import { forgetEndpointCopy } from "../gateway/gateway-copies.js";
import type { AppEnv } from "../hono-env.js";
import { parseJsonText, readText } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { chooseRegion, regionsOf } from "../region-routing.js";

const EndpointIdParam = z.string().regex(idPattern("ep"), "an endpoint id");

/** Endpoint specs that do not parse are 422 (they are well-formed JSON that cannot be an endpoint). */
function parseSpec<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 20)
    .map((i) => ({ path: i.path.join("."), message: i.message }));
  const first = issues[0];
  throw new MeridianError(
    422,
    "invalid_endpoint",
    `invalid endpoint: ${first ? `${first.path ? `${first.path}: ` : ""}${first.message}` : "invalid"}`,
    { issues },
  );
}

async function jsonOf(c: Context<AppEnv>): Promise<unknown> {
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(c.req.header("content-type") ?? ""))
    throw new MeridianError(415, "unsupported_media_type", "send the body as application/json");
  return parseJsonText(await readText(c));
}

function checkRegions(c: Context<AppEnv>, spec: EndpointSpec): void {
  if (spec.regions === "nearest") return;
  const known = new Set(regionsOf(c.env).map((r) => r.id));
  const unknown = spec.regions.find((r) => !known.has(r));
  if (unknown !== undefined)
    throw new MeridianError(
      422,
      "invalid_endpoint",
      `unknown region "${unknown}"; regions: ${[...known].join(", ")}`,
    );
}

/** Creating, changing and deleting endpoints needs a full key; reading takes any key that reaches it. */
function requireFullKey(c: Context<AppEnv>): void {
  if (!c.get("keyScopes").includes("full"))
    throw new MeridianError(403, "forbidden", "managing endpoints needs a full key");
}

async function ownedRow(c: Context<AppEnv>): Promise<typeof endpoints.$inferSelect> {
  const id = EndpointIdParam.safeParse(c.req.param("id"));
  // An unknown id, a malformed one and another account's endpoint all answer the same 404.
  const row = id.success
    ? await drizzle(c.env.DB)
        .select()
        .from(endpoints)
        .where(
          and(
            eq(endpoints.id, id.data),
            eq(endpoints.accountId, c.get("accountId")),
            isNull(endpoints.deletedAt),
          ),
        )
        .get()
    : undefined;
  if (!row) throw new MeridianError(404, "endpoint_not_found", `no endpoint ${c.req.param("id")}`);
  return row;
}

function stubOf(c: Context<AppEnv>, id: string) {
  return c.env.ENDPOINT.get(c.env.ENDPOINT.idFromName(id));
}

/** The spec back in its input form (money as USD text), to merge a patch into. */
function specInput(spec: EndpointSpec): Record<string, unknown> {
  const { maxPricePerGpuHour, ...rest } = spec;
  return maxPricePerGpuHour === undefined
    ? rest
    : { ...rest, maxPricePerGpuHour: formatUsd(maxPricePerGpuHour) };
}

const EndpointList = z.object({ endpoints: z.array(EndpointView) });

/** /v1/endpoints: inference endpoints as a resource. */
export const endpointRoutes = new Hono<AppEnv>()
  .post(
    "/",
    doc({
      id: "createEndpoint",
      tag: "Endpoints",
      summary: "Create an inference endpoint",
      description:
        "A container serving HTTP on `port`, replicated and autoscaled; callers reach it through the gateway.",
      body: EndpointSpec,
      response: { schema: EndpointView, status: 201 },
      errors: [409, 415, 422],
    }),
    async (c) => {
      requireFullKey(c);
      const spec = parseSpec(EndpointSpec, await jsonOf(c));
      checkRegions(c, spec);
      const accountId = c.get("accountId");
      const db = drizzle(c.env.DB);
      const now = Date.now();
      const id = newId("ep", now);
      const taken = await db
        .select({ id: endpoints.id })
        .from(endpoints)
        .where(and(eq(endpoints.accountId, accountId), eq(endpoints.liveName, spec.name)))
        .get();
      if (taken)
        throw new MeridianError(
          409,
          "endpoint_name_taken",
          `an endpoint named ${spec.name} exists (${taken.id})`,
        );
      await db.insert(endpoints).values({
        id,
        accountId,
        name: spec.name,
        spec,
        createdAt: now,
        updatedAt: now,
        liveName: spec.name,
      });
      const home = spec.regions === "nearest" ? chooseRegion(c, undefined) : null;
      const view = unwrap(await stubOf(c, id).create(id, accountId, spec, home));
      await accountDirectory(c.env, accountId).setName(spec.name, id);
      return c.json(view, 201);
    },
  )
  .get(
    "/",
    doc({
      id: "listEndpoints",
      tag: "Endpoints",
      summary: "List your endpoints",
      response: { schema: EndpointList },
    }),
    async (c) => {
      const rows = await drizzle(c.env.DB)
        .select({ id: endpoints.id })
        .from(endpoints)
        .where(and(eq(endpoints.accountId, c.get("accountId")), isNull(endpoints.deletedAt)))
        .orderBy(desc(endpoints.id))
        .limit(200);
      const views: RpcResult<EndpointView>[] = await Promise.all(
        rows.map(async (row) => stubOf(c, row.id).view(c.get("accountId"))),
      );
      return c.json({ endpoints: views.flatMap((v) => (v.ok ? [v.value] : [])) });
    },
  )
  .get(
    "/:id",
    doc({
      id: "getEndpoint",
      tag: "Endpoints",
      summary: "An endpoint: spec, status, replicas wanted and ready",
      response: { schema: EndpointView },
      errors: [404],
    }),
    async (c) => {
      const row = await ownedRow(c);
      return c.json(unwrap(await stubOf(c, row.id).view(row.accountId)));
    },
  )
  .patch(
    "/:id",
    doc({
      id: "updateEndpoint",
      tag: "Endpoints",
      summary: "Change an endpoint (scale, image, probe, scaling…)",
      body: EndpointPatch,
      response: { schema: EndpointView },
      errors: [404, 415, 422],
    }),
    async (c) => {
      requireFullKey(c);
      const row = await ownedRow(c);
      const patch = parseSpec(EndpointPatch, await jsonOf(c));
      const current = EndpointSpec.parse(row.spec);
      const { scaling, ...rest } = patch;
      const merged = {
        ...specInput(current),
        ...rest,
        ...(scaling ? { scaling: { ...current.scaling, ...scaling } } : {}),
      };
      const spec = parseSpec(EndpointSpec, merged);
      checkRegions(c, spec);
      await drizzle(c.env.DB)
        .update(endpoints)
        .set({ spec, updatedAt: Date.now() })
        .where(eq(endpoints.id, row.id));
      const changed = Object.keys(patch).join(", ") || "nothing";
      const updated = unwrap(await stubOf(c, row.id).update(row.accountId, spec, `updated: ${changed}`));
      forgetEndpointCopy(row.id);
      return c.json(updated);
    },
  )
  .delete(
    "/:id",
    doc({
      id: "deleteEndpoint",
      tag: "Endpoints",
      summary: "Delete an endpoint (its replicas stop)",
      response: { schema: EndpointView },
      errors: [404],
    }),
    async (c) => {
      requireFullKey(c);
      const row = await ownedRow(c);
      await drizzle(c.env.DB)
        .update(endpoints)
        .set({ deletedAt: Date.now(), liveName: null })
        .where(eq(endpoints.id, row.id));
      const view = unwrap(await stubOf(c, row.id).remove(row.accountId));
      await accountDirectory(c.env, row.accountId).setName(row.name, null);
      forgetEndpointCopy(row.id, row.accountId, row.name);
      return c.json(view);
    },
  )
  .get(
    "/:id/replicas",
    doc({
      id: "listEndpointReplicas",
      tag: "Endpoints",
      summary: "An endpoint's replicas: region, node, state, since, in flight",
      response: { schema: z.object({ replicas: z.array(ReplicaView) }) },
      errors: [404],
    }),
    async (c) => {
      const row = await ownedRow(c);
      return c.json({ replicas: unwrap(await stubOf(c, row.id).replicaList(row.accountId)) });
    },
  )
  .get(
    "/:id/events",
    doc({
      id: "listEndpointEvents",
      tag: "Endpoints",
      summary: "An endpoint's events: scale decisions with their reason, replica starts, health failures",
      response: { schema: z.object({ events: z.array(EndpointEvent) }) },
      errors: [404],
    }),
    async (c) => {
      const row = await ownedRow(c);
      return c.json({ events: unwrap(await stubOf(c, row.id).eventList(row.accountId)) });
    },
  )
  .get(
    "/:id/metrics",
    doc({
      id: "getEndpointMetrics",
      tag: "Endpoints",
      summary: "An endpoint's metrics: requests, errors, latency, TTFB, cold starts, replica-seconds, tokens",
      response: { schema: EndpointMetrics },
      errors: [404],
    }),
    async (c) => {
      const row = await ownedRow(c);
      return c.json(unwrap(await stubOf(c, row.id).metrics(row.accountId)));
    },
  );

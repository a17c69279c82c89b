import type { MiddlewareHandler } from "hono";
import { type DescribeRouteOptions, describeRoute, type ResponsesWithResolver, resolver } from "hono-openapi";
import type { OpenAPIV3, OpenAPIV3_1 } from "openapi-types";
import { z } from "zod";
import { ErrorEnvelope, type ErrorStatus } from "../../shared/errors.js";
import { registerExample } from "./examples.js";

/** Who may call a route: a user's API key (the default), a signed agent, the operator, or anyone. */
export type RouteAuth = "apiKey" | "agent" | "operator" | "none";

type SuccessStatus = 200 | 201;

interface JsonResponse {
  readonly schema: z.ZodType;
  readonly example?: unknown;
  readonly status?: SuccessStatus;
  readonly description?: string;
  /** A second success status with the same body (201 when the call created what 200 found). */
  readonly alsoStatus?: { readonly status: SuccessStatus; readonly description: string };
}

interface TextResponse {
  /** A non-JSON body (logs, CSV). */
  readonly contentType: string;
  readonly description: string;
  readonly status?: SuccessStatus;
}

interface EmptyResponse {
  /** No body: 204 after a delete, 101 when the route upgrades to a WebSocket. */
  readonly status: 101 | 204;
  readonly description: string;
}

export interface RouteDoc {
  /** Unique across the API: names the operation (its operationId) and its examples. */
  readonly id: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly auth?: RouteAuth;
  /** The JSON body's schema: the one the handler validates with (`jsonBody(c, Schema)`). */
  readonly body?: z.ZodType;
  readonly bodyExample?: unknown;
  /** The query's schema: the one the handler validates with (`queryOf(c, Schema)`). */
  readonly query?: z.ZodType;
  readonly response: JsonResponse | TextResponse | EmptyResponse;
  /** Error statuses beyond those implied by auth, body, query and path parameters (added later). */
  readonly errors?: readonly ErrorStatus[];
}

const SECURITY: Record<RouteAuth, OpenAPIV3_1.SecurityRequirementObject[]> = {
  apiKey: [{ apiKey: [] }],
  agent: [{ agentSignature: [] }],
  operator: [{ operatorToken: [] }],
  none: [],
};

export const ERROR_TEXT: Record<ErrorStatus, string> = {
  400: "The input is invalid; `details.issues` lists each field's problem",
  401: "Missing or invalid credentials",
  402: "The balance cannot cover the job's hold; `details` has what was needed and available",
  403: "The caller may not do this",
  404: "No such resource for this caller",
  409: "The resource is in a state that refuses this",
  410: "The resource is gone",
  413: "The body is larger than 1 MiB",
  415: "The body is not application/json",
  422: "The input is well formed but cannot be served",
  429: "Too many requests",
  503: "A region is unavailable; retry",
};

const ERROR_SCHEMA = z.toJSONSchema(ErrorEnvelope);

/** The error envelope as a plain response object, for statuses added after hono-openapi's pass. */
export function errorResponse(status: ErrorStatus) {
  return { description: ERROR_TEXT[status], content: { "application/json": { schema: ERROR_SCHEMA } } };
}

/** The query schema's properties as OpenAPI parameters (zod → JSON Schema, input side). */
function queryParameters(schema: z.ZodType): OpenAPIV3.ParameterObject[] {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  const properties = (json.properties ?? {}) as Record<string, OpenAPIV3.SchemaObject>;
  const required = new Set(Array.isArray(json.required) ? json.required : []);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: "query",
    required: required.has(name),
    ...(typeof property.description === "string" ? { description: property.description } : {}),
    schema: property,
  }));
}

function errorStatuses(spec: RouteDoc): ErrorStatus[] {
  const statuses = new Set<ErrorStatus>(spec.errors ?? []);
  if (spec.body || spec.query) statuses.add(400);
  if (spec.body) {
    statuses.add(413);
    statuses.add(415);
  }
  const auth = spec.auth ?? "apiKey";
  if (auth !== "none") statuses.add(401);
  if (auth === "operator") statuses.add(403);
  return [...statuses].sort();
}

function successResponse(spec: RouteDoc): ResponsesWithResolver[string] {
  const response = spec.response;
  if (!("contentType" in response) && !("schema" in response)) return { description: response.description };
  if ("contentType" in response) {
    return {
      description: response.description,
      content: { [response.contentType]: { schema: { type: "string" } } },
    };
  }
  if (response.example !== undefined) registerExample(spec.id, "response", response.schema, response.example);
  return {
    description: response.description ?? "OK",
    content: {
      "application/json": {
        schema: resolver(response.schema),
        ...(response.example === undefined ? {} : { example: response.example }),
      },
    },
  };
}

/**
 * Describes a route for the OpenAPI document, from the same zod schemas its handler validates
 * with. Put it first among the route's handlers: `.post("/", doc({...}), async (c) => …)`. The
 * completeness test (test/worker/openapi.test.ts) fails for any route without one.
 */
export function doc(spec: RouteDoc): MiddlewareHandler {
  if (spec.bodyExample !== undefined && spec.body)
    registerExample(spec.id, "body", spec.body, spec.bodyExample);
  const success = successResponse(spec);
  const responses: ResponsesWithResolver = { [String(spec.response.status ?? 200)]: success };
  if ("alsoStatus" in spec.response && spec.response.alsoStatus) {
    const also = spec.response.alsoStatus;
    responses[String(also.status)] = { ...success, description: also.description };
  }
  for (const status of errorStatuses(spec)) {
    responses[String(status)] = {
      description: ERROR_TEXT[status],
      content: { "application/json": { schema: resolver(ErrorEnvelope) } },
    };
  }
  const options: DescribeRouteOptions = {
    operationId: spec.id,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    security: SECURITY[spec.auth ?? "apiKey"],
    ...(spec.query ? { parameters: queryParameters(spec.query) } : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: resolver(spec.body),
                ...(spec.bodyExample === undefined ? {} : { example: spec.bodyExample }),
              },
            },
          },
        }
      : {}),
    responses,
  };
  return describeRoute(options);
}

import type { Hono } from "hono";
import { generateSpecs } from "hono-openapi";
import type { OpenAPIV3_1 } from "openapi-types";
import type { AppEnv } from "../hono-env.js";
import { errorResponse } from "./route-doc.js";

const DESCRIPTION = `Meridian's user, provider, agent and operator API.

Errors answer \`{"error":{"code","message","details"}}\` with a 4xx status; \`details\` carries
what the message summarises (for a 400, \`details.issues\` lists each field's path and problem).
Money is a pair: \`x\` a USD decimal string, \`xMicros\` integer micro-dollars. Times are ISO-8601.`;

/** Where the document is walked as plain JSON: operations by path and method, responses by status. */
type PathsJson = Record<string, Record<string, { responses?: Record<string, unknown> } | undefined>>;

/** Operations on a path with parameters can always answer 400 (a malformed id) and 404. */
function addPathErrors(paths: PathsJson): void {
  for (const [path, item] of Object.entries(paths)) {
    if (!path.includes("{")) continue;
    for (const operation of Object.values(item)) {
      if (!operation) continue;
      operation.responses ??= {};
      operation.responses["400"] ??= errorResponse(400);
      operation.responses["404"] ??= errorResponse(404);
    }
  }
}

/**
 * The OpenAPI 3.1 document of an app: hono-openapi reads each route's `doc()` description from
 * the router and converts its zod schemas to JSON Schema. Built once per isolate.
 */
export async function openApiDocument(app: Hono<AppEnv>, serverUrl?: string): Promise<OpenAPIV3_1.Document> {
  const document = (await generateSpecs(app, {
    // The document itself is served at a path ending in .json; keep it listed.
    excludeStaticFile: false,
    documentation: {
      info: { title: "Meridian API", version: "0.1.0", description: DESCRIPTION },
      ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
      components: {
        securitySchemes: {
          apiKey: {
            type: "http",
            scheme: "bearer",
            description: "An API key (mrd_…), from POST /v1/accounts",
          },
          agentSignature: {
            type: "apiKey",
            in: "header",
            name: "x-meridian-signature",
            description:
              "A host agent's ed25519 signature over method, path, body digest, time and nonce (see src/shared/agent-signature.ts)",
          },
          operatorToken: { type: "http", scheme: "bearer", description: "The deployment's OPERATOR_TOKEN" },
        },
      },
    },
  })) as OpenAPIV3_1.Document;
  if (document.paths) addPathErrors(document.paths as PathsJson);
  return document;
}

import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppEnv } from "../hono-env.js";
import { openApiDocument } from "./openapi-document.js";
import { doc } from "./route-doc.js";

/** The document is a JSON object; its shape is OpenAPI 3.1's, not one of ours. */
const OpenApiObject = z.object({ openapi: z.string(), info: z.object({ title: z.string() }) }).loose();

/**
 * GET /v1/openapi.json: the app's own document, built once per isolate (the routes do not change
 * while it runs). Takes the app because the document describes the app that serves it.
 */
export function openApiRoute(
  app: Hono<AppEnv>,
): [MiddlewareHandler, (c: Context<AppEnv>) => Promise<Response>] {
  let cached: ReturnType<typeof openApiDocument> | undefined;
  return [
    doc({
      id: "openApiDocument",
      tag: "Meta",
      summary: "This document",
      description: "The OpenAPI 3.1 description of the API; browse it at /docs.",
      auth: "none",
      response: { schema: OpenApiObject },
    }),
    async (c) => {
      cached ??= openApiDocument(app);
      return c.json(await cached);
    },
  ];
}

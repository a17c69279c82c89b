import { type Context, Hono } from "hono";
import { z } from "zod";
import { accountDirectory } from "../../durable/endpoints/gateway-directory.js";
import { openAiError } from "../../durable/endpoints/openai-error.js";
import { fnv1a } from "../../durable/endpoints/replica-board.js";
import { idPattern } from "../../shared/ids.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import {
  authenticateCaller,
  backgroundOf,
  GatewayRefusal,
  gatewayBody,
  toEndpoint,
} from "./gateway-caller.js";
import { endpointNamed } from "./gateway-copies.js";

/** The fields the gateway reads; the rest of an OpenAI request goes to the engine untouched. */
const InferenceRequest = z.looseObject({
  model: z.string().min(1).max(200),
  stream: z.boolean().optional(),
});
const OpenAiResponse = z.looseObject({ object: z.string().optional() });
const ModelList = z.object({
  object: z.literal("list"),
  data: z.array(
    z.object({ id: z.string(), object: z.literal("model"), created: z.number(), owned_by: z.string() }),
  ),
});

/** How much of a prompt the prefix affinity hashes: enough to tell shared system prompts apart. */
const PREFIX_CHARS = 512;

function promptPrefix(body: Record<string, unknown>): string {
  const source = body.messages ?? body.prompt ?? body.input ?? "";
  return JSON.stringify(source).slice(0, PREFIX_CHARS);
}

/** The endpoint a `model` names: its id, or the caller's own endpoint of that name. */
async function endpointOf(c: Context<AppEnv>, accountId: string, model: string): Promise<string> {
  if (idPattern("ep").test(model)) return model;
  const id = await endpointNamed(c.env, accountId, model, backgroundOf(c));
  if (!id)
    throw new GatewayRefusal(
      openAiError(
        404,
        "model_not_found",
        `The model \`${model}\` does not exist or you do not have access to it.`,
      ),
    );
  return id;
}

async function inference(c: Context<AppEnv>): Promise<Response> {
  try {
    const arrivedAt = Date.now();
    const caller = await authenticateCaller(c);
    const authedAt = Date.now();
    const body = await gatewayBody(c);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body ?? new ArrayBuffer(0)));
    } catch {
      return openAiError(400, "invalid_json", "the request body is not valid JSON");
    }
    const request = InferenceRequest.safeParse(parsed);
    if (!request.success)
      return openAiError(400, "invalid_request", "the body must be a JSON object with a string `model`");
    const endpointId = await endpointOf(c, caller.accountId, request.data.model);
    // `x-meridian-affinity: <key>` keeps a session on one replica; `prefix` hashes the prompt's start.
    const header = c.req.header("x-meridian-affinity");
    const affinity = header === "prefix" ? String(fnv1a(promptPrefix(request.data))) : (header ?? null);
    return await toEndpoint(c, endpointId, { ...caller, path: new URL(c.req.url).pathname, affinity }, body, [
      ["auth", authedAt - arrivedAt],
      ["model", Date.now() - authedAt],
    ]);
  } catch (error) {
    if (error instanceof GatewayRefusal) return error.response;
    throw error;
  }
}

const inferenceDoc = (id: string, summary: string) =>
  doc({
    id,
    tag: "Inference",
    summary,
    description:
      "OpenAI-compatible: `model` names one of your endpoints (its name or id) or a public endpoint's id. With `stream: true` the answer is server-sent events (`data: {json}` … `data: [DONE]`). Errors use OpenAI's shape.",
    body: InferenceRequest,
    response: { schema: OpenAiResponse },
    errors: [403, 404, 413, 503],
  });

/** The OpenAI-compatible surface: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models. */
export const openAiRoutes = new Hono<AppEnv>()
  .post(
    "/chat/completions",
    inferenceDoc("createChatCompletion", "Chat completion from an endpoint"),
    inference,
  )
  .post("/completions", inferenceDoc("createCompletion", "Text completion from an endpoint"), inference)
  .post("/embeddings", inferenceDoc("createEmbedding", "Embeddings from an endpoint"), inference)
  .get(
    "/models",
    doc({
      id: "listModels",
      tag: "Inference",
      summary: "The endpoints you may call, as OpenAI models",
      response: { schema: ModelList },
    }),
    async (c) => {
      try {
        const caller = await authenticateCaller(c);
        const names = await accountDirectory(c.env, caller.accountId).list();
        return c.json({
          object: "list" as const,
          data: Object.keys(names)
            .sort()
            .map((id) => ({ id, object: "model" as const, created: 0, owned_by: caller.accountId })),
        });
      } catch (error) {
        if (error instanceof GatewayRefusal) return error.response;
        throw error;
      }
    },
  );

/** Raw HTTP to an endpoint's container: every method, headers and streaming body passed through. */
export const proxyRoutes = new Hono<AppEnv>().all("/:id/proxy/*", async (c) => {
  try {
    const caller = await authenticateCaller(c);
    const id = c.req.param("id");
    if (!idPattern("ep").test(id)) return openAiError(404, "model_not_found", `no endpoint ${id}`);
    const url = new URL(c.req.url);
    const prefix = `/v1/endpoints/${id}/proxy`;
    const path = (url.pathname.slice(prefix.length) || "/") + url.search;
    const body = await gatewayBody(c);
    return await toEndpoint(
      c,
      id,
      { ...caller, path, affinity: c.req.header("x-meridian-affinity") ?? null },
      body,
    );
  } catch (error) {
    if (error instanceof GatewayRefusal) return error.response;
    throw error;
  }
});

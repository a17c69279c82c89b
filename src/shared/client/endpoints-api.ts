import { z } from "zod";
import type { EndpointPatch, EndpointSpec } from "../endpoints/endpoint-spec.js";
import { EndpointEvent, EndpointMetrics, EndpointView, ReplicaView } from "../endpoints/endpoint-views.js";
import { ApiError } from "./api-error.js";
import type { CLIENT_ROUTES } from "./client-routes.js";
import type { ApiResult } from "./http-transport.js";

type RouteName = keyof typeof CLIENT_ROUTES;

/** What MeridianClient lends its endpoint calls: its JSON call and its raw send, with its key. */
export interface ClientTransport {
  json<T>(
    schema: z.ZodType<T>,
    route: RouteName,
    options?: { body?: unknown; params?: Record<string, string> },
  ): Promise<ApiResult<T>>;
  send(
    route: RouteName,
    options: { accept: string; body?: unknown; signal?: AbortSignal },
  ): Promise<Response>;
}

export const EndpointList = z.object({ endpoints: z.array(EndpointView) });
export const ReplicaList = z.object({ replicas: z.array(ReplicaView) });
export const EndpointEventList = z.object({ events: z.array(EndpointEvent) });

/** A chat message as OpenAI's API takes it. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** What a streamed chat completion yields: text as it arrives, then the usage when the engine sends it. */
export type ChatPiece =
  | { kind: "text"; text: string }
  | { kind: "usage"; promptTokens: number; completionTokens: number }
  | { kind: "finish"; reason: string };

const ChunkShape = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        delta: z.looseObject({ content: z.string().nullish() }).optional(),
        finish_reason: z.string().nullish(),
      }),
    )
    .optional(),
  usage: z.looseObject({ prompt_tokens: z.number(), completion_tokens: z.number() }).nullish(),
  error: z.looseObject({ message: z.string(), code: z.string().nullish() }).optional(),
});

/**
 * Inference endpoints through the user API (CLI and console): the resource's routes, and a streamed
 * chat completion read as server-sent events, the way OpenAI's clients read them.
 */
export class EndpointsApi {
  constructor(private readonly transport: ClientTransport) {}

  /** Sends the spec as the user wrote it (the server fills defaults). */
  create(spec: z.input<typeof EndpointSpec> | Record<string, unknown>): Promise<ApiResult<EndpointView>> {
    return this.transport.json(EndpointView, "createEndpoint", { body: spec });
  }

  list(): Promise<ApiResult<z.infer<typeof EndpointList>>> {
    return this.transport.json(EndpointList, "listEndpoints");
  }

  get(id: string): Promise<ApiResult<EndpointView>> {
    return this.transport.json(EndpointView, "getEndpoint", { params: { id } });
  }

  update(id: string, patch: z.input<typeof EndpointPatch>): Promise<ApiResult<EndpointView>> {
    return this.transport.json(EndpointView, "updateEndpoint", { params: { id }, body: patch });
  }

  remove(id: string): Promise<ApiResult<EndpointView>> {
    return this.transport.json(EndpointView, "deleteEndpoint", { params: { id } });
  }

  replicas(id: string): Promise<ApiResult<z.infer<typeof ReplicaList>>> {
    return this.transport.json(ReplicaList, "endpointReplicas", { params: { id } });
  }

  events(id: string): Promise<ApiResult<z.infer<typeof EndpointEventList>>> {
    return this.transport.json(EndpointEventList, "endpointEvents", { params: { id } });
  }

  metrics(id: string): Promise<ApiResult<EndpointMetrics>> {
    return this.transport.json(EndpointMetrics, "endpointMetrics", { params: { id } });
  }

  /** POST /v1/chat/completions with `stream: true`, yielding text as each event arrives. */
  async *chat(
    request: { model: string; messages: ChatMessage[]; maxTokens?: number },
    signal?: AbortSignal,
  ): AsyncGenerator<ChatPiece> {
    const response = await this.transport.send("chatCompletions", {
      accept: "text/event-stream",
      body: {
        model: request.model,
        messages: request.messages,
        stream: true,
        stream_options: { include_usage: true },
        ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
      },
      ...(signal ? { signal } : {}),
    });
    if (!response.body) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        for (let at = buffer.indexOf("\n\n"); at >= 0; at = buffer.indexOf("\n\n")) {
          const event = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = event
            .split("\n")
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).trimStart())
            .join("\n");
          if (data === "") continue;
          if (data === "[DONE]") return;
          yield* piecesOf(data, response.status);
        }
      }
    } finally {
      reader.releaseLock();
    }
    throw new ApiError(response.status, "stream_ended", "the stream ended before [DONE]");
  }
}

function piecesOf(data: string, status: number): ChatPiece[] {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw new ApiError(
      status,
      "bad_response",
      `the stream sent an event that is not JSON: ${data.slice(0, 200)}`,
    );
  }
  const chunk = ChunkShape.safeParse(json);
  if (!chunk.success)
    throw new ApiError(status, "bad_response", "the stream sent an event this client does not understand");
  // OpenAI and vLLM report a failure mid-stream as a data event carrying `error`.
  if (chunk.data.error)
    throw new ApiError(status, chunk.data.error.code ?? "stream_error", chunk.data.error.message);
  const pieces: ChatPiece[] = [];
  for (const choice of chunk.data.choices ?? []) {
    if (choice.delta?.content) pieces.push({ kind: "text", text: choice.delta.content });
    if (choice.finish_reason) pieces.push({ kind: "finish", reason: choice.finish_reason });
  }
  const usage = chunk.data.usage;
  if (usage)
    pieces.push({
      kind: "usage",
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
    });
  return pieces;
}

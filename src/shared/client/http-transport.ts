import type { z } from "zod";
import { ApiError, apiErrorOf } from "./api-error.js";
import { CLIENT_ROUTES } from "./client-routes.js";

/** A parsed response body together with the JSON it came from (the CLI's `--json` prints it as sent). */
export interface ApiResult<T> {
  readonly data: T;
  readonly raw: unknown;
}

export interface ClientOptions {
  /** The control plane's origin, e.g. http://localhost:8787; "" for the page's own origin. */
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly fetch: typeof fetch;
}

export type RouteName = keyof typeof CLIENT_ROUTES;

/** Query values as the API reads them. */
export type Query = Record<string, string | number | boolean | undefined>;

export interface SendOptions {
  accept: string;
  body?: unknown;
  auth?: boolean;
  params?: Record<string, string>;
  query?: Query;
  signal?: AbortSignal;
}

export type JsonOptions = Omit<SendOptions, "accept" | "signal">;

/**
 * How one call of the user API goes over the wire: the route's method and path, the key, the JSON
 * body, and the answer checked against its response schema. Every failure becomes an `ApiError`.
 */
export class HttpTransport {
  readonly #options: ClientOptions;

  constructor(options: ClientOptions) {
    this.#options = options;
  }

  get options(): ClientOptions {
    return this.#options;
  }

  async json<T>(schema: z.ZodType<T>, route: RouteName, options: JsonOptions = {}): Promise<ApiResult<T>> {
    const response = await this.send(route, { accept: "application/json", ...options });
    const text = await response.text();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ApiError(
        response.status,
        "bad_response",
        `expected JSON from the server, got: ${text.slice(0, 200)}`,
      );
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const [method, template] = CLIENT_ROUTES[route];
      const path = fillPath(template, options.params);
      throw new ApiError(
        response.status,
        "bad_response",
        `${method} ${path} answered a body this client does not understand; is it as new as the server?`,
        parsed.error.issues,
      );
    }
    return { data: parsed.data, raw };
  }

  /** A response's text as it arrives (log follows and NDJSON event streams). */
  async *text(route: RouteName, options: SendOptions): AsyncGenerator<string> {
    const response = await this.send(route, options);
    if (!response.body) return;
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        if (text) yield text;
      }
      const rest = decoder.decode();
      if (rest) yield rest;
    } finally {
      reader.releaseLock();
    }
  }

  async send(route: RouteName, options: SendOptions): Promise<Response> {
    const [method, template] = CLIENT_ROUTES[route];
    const path = fillPath(template, options.params);
    const headers: Record<string, string> = { accept: options.accept };
    if (options.auth !== false) {
      if (!this.#options.apiKey) throw new ApiError(0, "no_api_key", "no API key: sign up or sign in first");
      headers.authorization = `Bearer ${this.#options.apiKey}`;
    }
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) search.set(key, String(value));
    }
    const url = `${this.#options.baseUrl}${path}${search.size > 0 ? `?${search}` : ""}`;
    let response: Response;
    try {
      response = await this.#options.fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new ApiError(
        0,
        "unreachable",
        `cannot reach ${this.#options.baseUrl || "the API"} (${describeFetchFailure(error)})`,
      );
    }
    if (!response.ok) throw await apiErrorOf(response);
    return response;
  }
}

function fillPath(template: string, params: Record<string, string> | undefined): string {
  return template.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params?.[name] ?? ""));
}

function describeFetchFailure(error: unknown): string {
  // undici reports the socket error as the cause of a generic "fetch failed".
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error)
    return "code" in cause && typeof cause.code === "string" ? cause.code : cause.message;
  return error instanceof Error ? error.message : String(error);
}

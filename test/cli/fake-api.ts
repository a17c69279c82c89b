import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** One request the fake API received. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

export type FakeHandler = (request: RecordedRequest, response: ServerResponse) => void | Promise<void>;

/**
 * A canned stand-in for the user API on 127.0.0.1, for testing the CLI's side of the wire; the
 * real API is exercised by the end-to-end tests. Routes are keyed "METHOD /path?query".
 */
export class FakeApi {
  readonly requests: RecordedRequest[] = [];
  readonly #routes = new Map<string, FakeHandler>();
  readonly #server: Server;

  private constructor() {
    this.#server = createServer((req, res) => {
      void this.#handle(req, res);
    });
  }

  static async start(): Promise<FakeApi> {
    const api = new FakeApi();
    await new Promise<void>((resolve) => api.#server.listen(0, "127.0.0.1", resolve));
    return api;
  }

  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("the fake API is not listening");
    return `http://127.0.0.1:${address.port}`;
  }

  on(route: string, handler: FakeHandler): void {
    this.#routes.set(route, handler);
  }

  /** Answers `route` with a JSON body. */
  json(route: string, status: number, body: unknown): void {
    this.on(route, (_request, response) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
  }

  reset(): void {
    this.requests.length = 0;
    this.#routes.clear();
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(Buffer.from(chunk));
    const request: RecordedRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      body: Buffer.concat(chunks).toString("utf8"),
    };
    this.requests.push(request);
    const handler = this.#routes.get(`${request.method} ${request.url}`);
    if (!handler) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: { code: "not_found", message: `no route ${request.method} ${request.url}` },
        }),
      );
      return;
    }
    await handler(request, res);
  }
}

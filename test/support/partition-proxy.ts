import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";

/** One request that passed through the proxy (or was held by a cut), and what it was answered. */
export interface Exchange {
  path: string;
  /** The report's `type` (started, logs, exited) for attempt reports. */
  type: string | undefined;
  /** Held by a cut: never forwarded. */
  held: boolean;
  status: number | undefined;
  code: string | undefined;
}

/**
 * An HTTP proxy in front of the control plane for one agent, that can be cut (in-flight requests
 * are dropped, new ones hang unanswered, as over a dead link) and healed (the hanging connections
 * are reset, so the agent's retries go through). It records what passed and what the control plane
 * answered.
 */
export class PartitionProxy {
  readonly exchanges: Exchange[] = [];
  private cut = false;
  private readonly held = new Set<Socket>();
  private readonly inFlight = new Map<Socket, ClientRequest>();
  private server: Server | undefined;
  url = "";

  constructor(private readonly upstream: string) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 1_000;
    // It forwards plain requests only: the agent's presence socket cannot open through it, so a
    // partition is noticed from silence alone, as a cut link that sends no reset would be.
    server.on("upgrade", (_req, socket: Socket) => socket.destroy());
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("proxy has no port");
    this.url = `http://127.0.0.1:${address.port}`;
  }

  partition(): void {
    this.cut = true;
    for (const [socket, upstream] of this.inFlight) {
      upstream.destroy();
      socket.destroy();
    }
    this.inFlight.clear();
  }

  heal(): void {
    this.cut = false;
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }

  async stop(): Promise<void> {
    this.heal();
    for (const [socket, upstream] of this.inFlight) {
      upstream.destroy();
      socket.destroy();
    }
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const exchange: Exchange = {
      path: req.url ?? "",
      type: typeOf(body),
      held: this.cut,
      status: undefined,
      code: undefined,
    };
    this.exchanges.push(exchange);
    if (this.cut) {
      this.held.add(req.socket);
      return;
    }
    const target = new URL(req.url ?? "/", this.upstream);
    // The Host header passes through unchanged: agent signatures are bound to the host the agent
    // addressed (src/shared/agent-signature.ts), as behind any transparent proxy.
    const headers: Record<string, string | string[] | undefined> = { ...req.headers };
    delete headers.connection;
    delete headers["keep-alive"];
    // Uncompressed answers, so the proxy can read the error code it records.
    delete headers["accept-encoding"];
    const upstream = httpRequest(target, { method: req.method, headers }, (answer) => {
      const parts: Buffer[] = [];
      answer.on("data", (part: Buffer) => parts.push(part));
      answer.on("end", () => {
        this.inFlight.delete(req.socket);
        const text = Buffer.concat(parts);
        exchange.status = answer.statusCode;
        exchange.code = codeOf(text);
        const out = { ...answer.headers };
        delete out.connection;
        delete out["keep-alive"];
        delete out["transfer-encoding"];
        out["content-length"] = String(text.length);
        res.writeHead(answer.statusCode ?? 502, out);
        res.end(text);
      });
      answer.on("error", () => req.socket.destroy());
    });
    upstream.on("error", () => {
      this.inFlight.delete(req.socket);
      req.socket.destroy();
    });
    this.inFlight.set(req.socket, upstream);
    upstream.end(body);
  }
}

function typeOf(body: Buffer): string | undefined {
  try {
    const value: unknown = JSON.parse(body.toString());
    if (typeof value === "object" && value !== null && "type" in value && typeof value.type === "string")
      return value.type;
  } catch {
    // not JSON
  }
  return undefined;
}

function codeOf(body: Buffer): string | undefined {
  try {
    const value: unknown = JSON.parse(body.toString());
    if (typeof value === "object" && value !== null && "error" in value) {
      const error: unknown = value.error;
      if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string")
        return error.code;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

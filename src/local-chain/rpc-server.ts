import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { LocalChain, type LocalChainOptions } from "./local-chain.js";
import { RpcError } from "./rpc-error.js";
import { methods } from "./rpc-methods.js";

const MAX_BODY_BYTES = 1 << 20;

interface RpcRequest {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

/**
 * JSON text with u64 values as bare numbers: lamports and `rentEpoch` (u64::MAX) exceed 2^53, and
 * Solana's RPC writes them as plain JSON numbers, which kit reads as bigint and web3.js as number.
 */
export function stringifyRpc(value: unknown): string {
  const marked = JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? `__u64:${v.toString()}__` : v));
  return marked.replace(/"__u64:(\d+)__"/g, "$1");
}

async function handleOne(chain: LocalChain, request: RpcRequest): Promise<Record<string, unknown>> {
  const id = request.id ?? null;
  if (request.jsonrpc !== "2.0" || typeof request.method !== "string") {
    return { jsonrpc: "2.0", error: { code: -32600, message: "Invalid request" }, id };
  }
  const method = methods[request.method];
  try {
    if (!method) throw RpcError.methodNotFound();
    const params = request.params === undefined ? [] : request.params;
    if (!Array.isArray(params)) throw RpcError.invalidParams("Invalid params: expected an array");
    const result = await method(chain, params);
    return { jsonrpc: "2.0", result, id };
  } catch (error) {
    if (error instanceof RpcError) {
      const body: Record<string, unknown> = { code: error.code, message: error.message };
      if (error.data !== undefined) body.data = error.data;
      return { jsonrpc: "2.0", error: body, id };
    }
    process.stderr.write(
      `[local-chain] ${request.method} failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    return { jsonrpc: "2.0", error: { code: -32603, message: "Internal error" }, id };
  }
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface RunningChain {
  chain: LocalChain;
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The local chain behind an HTTP JSON-RPC endpoint (POST /, batches included; GET /health). */
export async function startRpcServer(
  options: LocalChainOptions & { port: number; host?: string },
): Promise<RunningChain> {
  const chain = await LocalChain.open(options);
  const server = createServer(async (request, response) => {
    const cors = {
      "access-control-allow-origin": "*",
      "access-control-allow-headers": "content-type, solana-client",
    };
    if (request.method === "OPTIONS") {
      response.writeHead(204, { ...cors, "access-control-allow-methods": "POST, GET, OPTIONS" }).end();
      return;
    }
    if (request.method === "GET" && request.url === "/health") {
      response.writeHead(200, { ...cors, "content-type": "text/plain" }).end("ok");
      return;
    }
    if (request.method !== "POST") {
      response.writeHead(405, cors).end();
      return;
    }
    const text = await readBody(request);
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { ...cors, "content-type": "application/json" }).end(stringifyRpc(body));
    };
    if (text === null) {
      reply(413, { jsonrpc: "2.0", error: { code: -32600, message: "Request too large" }, id: null });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      reply(200, { jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null });
      return;
    }
    if (Array.isArray(parsed)) {
      const out = [];
      for (const item of parsed) out.push(await handleOne(chain, (item ?? {}) as RpcRequest));
      reply(200, out);
      return;
    }
    reply(200, await handleOne(chain, (parsed ?? {}) as RpcRequest));
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    chain,
    server,
    port,
    url: `http://${host}:${port}`,
    close: async () => {
      chain.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type RunningChain, startRpcServer } from "../../src/local-chain/rpc-server.js";

/** A local chain on a free port in a fresh folder; slots advance only by hand unless slotMs is given. */
export async function startTestChain(
  options: { slotMs?: number; finalityLag?: number; dir?: string } = {},
): Promise<RunningChain & { dir: string; cleanup(): Promise<void> }> {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), "meridian-chain-"));
  const running = await startRpcServer({
    dir,
    port: 0,
    slotMs: options.slotMs ?? 0,
    finalityLag: options.finalityLag ?? 4,
  });
  return {
    ...running,
    dir,
    cleanup: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function rpcCall(
  url: string,
  method: string,
  params: unknown[] = [],
): Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
}

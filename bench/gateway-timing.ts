/** bench:gateway's timed requests, shared by the tunnel-hop phase and the whole-stack phase. */
import { Agent, request } from "node:http";
import { parseTiming } from "../src/shared/endpoints/server-timing.js";

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

/** Ends the keep-alive pool, so the bench's process can exit. */
export function closeTimingPool(): void {
  keepAlive.destroy();
}

/** One request; resolves with ms to the head, the first body byte and the end, and its Server-Timing. */
export function timed(
  base: string,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ head: number; first: number; total: number; bytes: number; timing: Record<string, number> }> {
  const url = new URL(path, base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: body ? "POST" : "GET",
        agent: keepAlive,
        headers: { "content-type": "application/json", ...headers },
      },
      (res) => {
        const head = performance.now() - started;
        const timing = parseTiming([res.headers["server-timing"] ?? ""].flat().join(","));
        let first = 0;
        let bytes = 0;
        if ((res.statusCode ?? 500) >= 400) reject(new Error(`${url.pathname} answered ${res.statusCode}`));
        res.on("data", (chunk: Buffer) => {
          if (first === 0) first = performance.now() - started;
          bytes += chunk.length;
        });
        res.on("end", () => resolve({ head, first, total: performance.now() - started, bytes, timing }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Time to the first content token of a streamed completion (the first SSE event carrying text). */
export function ttft(base: string, model = "m", headers: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  const body = JSON.stringify({ model, prompt: "the", max_tokens: 8, stream: true });
  return new Promise((resolve, reject) => {
    const req = request(
      new URL("/v1/completions", base),
      {
        method: "POST",
        agent: keepAlive,
        headers: { "content-type": "application/json", ...headers },
      },
      (res) => {
        let seen = "";
        let at = 0;
        res.on("data", (chunk: Buffer) => {
          seen += chunk.toString("utf8");
          if (at === 0 && /"text":"[^"]/.test(seen)) at = performance.now() - started;
        });
        res.on("end", () => (at > 0 ? resolve(at) : reject(new Error(`no token in ${seen.slice(0, 200)}`))));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { hardware, submit, TestAgent } from "./support.js";

/** What the storage tests share: a placed attempt speaking the agent's storage protocol, and its uploads. */

export const spec = { name: "t", image: "meridian/busybox:test", command: ["true"], region: "eu-west" };

export function fetchUrl(url: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(url, init));
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function placed(apiKey: string, body: Record<string, unknown>) {
  const agent = new TestAgent();
  await agent.register(hardware());
  const res = await submit(apiKey, { ...spec, ...body });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  const job = (await res.json()) as { id: string };
  // An earlier test's job may be handed out too: take this one's.
  const a = (await agent.poll()).assignments.find((assignment) => assignment.jobId === job.id);
  if (!a) throw new Error("no assignment");
  const send = async <T>(path: string, payload: Record<string, unknown>): Promise<T> => {
    const r = await agent.send(`/v1/agent/attempts/${a.attemptId}/storage/${path}`, {
      fencing: a.fencing,
      ...payload,
    });
    if (r.status !== 200) throw new Error(`${path} answered ${r.status}: ${await r.text()}`);
    return (await r.json()) as T;
  };
  return { agent, job, a, send };
}

/** PUTs each part's slice of `bytes` to its signed URL, as the agent does; returns what a commit lists. */
export async function putParts(
  urls: readonly { partNumber: number; url: string }[],
  partSizeBytes: number,
  bytes: Uint8Array,
): Promise<{ partNumber: number; etag: string }[]> {
  const parts: { partNumber: number; etag: string }[] = [];
  for (const part of urls) {
    const from = (part.partNumber - 1) * partSizeBytes;
    const piece = bytes.slice(from, from + partSizeBytes);
    const res = await fetchUrl(part.url, {
      method: "PUT",
      body: piece,
      headers: { "content-length": String(piece.length) },
    });
    expect(res.status).toBe(200);
    parts.push({ partNumber: part.partNumber, etag: res.headers.get("etag") ?? "" });
  }
  return parts;
}

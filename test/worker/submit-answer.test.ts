import { afterEach, describe, expect, it } from "vitest";
import { authed, call, drainAgents, H100, hardware, jsonInit, signup, TestAgent } from "./support.js";

/**
 * A submit answers with the job its region just wrote (the admission's row, then the records of
 * its placement, which the answer waits for) instead of reading the row back from D1: the answer
 * must be the job exactly as a later read shows it, placed or queued; a replay reads it back.
 */
const spec = {
  name: "answered",
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  resources: { gpus: 1 },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 3600,
};

async function submitWithKey(apiKey: string, body: unknown, key: string): Promise<Response> {
  const init = jsonInit("POST", body, apiKey);
  return call("/v1/jobs", { ...init, headers: { ...(init.headers as object), "idempotency-key": key } });
}

async function read(apiKey: string, id: string): Promise<unknown> {
  return (await call(`/v1/jobs/${id}`, authed(apiKey))).json();
}

describe("a submit's answer", () => {
  afterEach(drainAgents);

  it("is the placed job as a later read shows it, and a replay answers the same", async () => {
    const { apiKey } = await signup();
    const provider = await signup();
    const agent = new TestAgent();
    agent.ownerApiKey = provider.apiKey;
    await agent.register(hardware([H100]));
    const res = await submitWithKey(apiKey, spec, "answer-placed");
    expect(res.status).toBe(201);
    const answer = (await res.json()) as { id: string; status: string; nodeId: string | null };
    expect(answer).toMatchObject({ status: "assigned", nodeId: agent.nodeId, attempts: 1 });
    expect(answer).toHaveProperty("assignedAt", expect.any(String));
    expect(await read(apiKey, answer.id)).toEqual(answer);
    const again = await submitWithKey(apiKey, spec, "answer-placed");
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(answer);
  });

  it("is the queued job, with why it waits, as a later read shows it", async () => {
    const { apiKey } = await signup();
    const res = await submitWithKey(
      apiKey,
      { ...spec, resources: { gpus: 8 }, maxPricePerGpuHour: "0.10" },
      "answer-queued",
    );
    expect(res.status).toBe(201);
    const answer = (await res.json()) as { id: string };
    expect(answer).toMatchObject({ status: "queued", nodeId: null, attemptId: null, attempts: 0 });
    expect(answer).toHaveProperty("explanation");
    expect(await read(apiKey, answer.id)).toEqual(answer);
  });
});

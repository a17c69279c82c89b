import { expect } from "vitest";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import { H100, hardware, signup, submit, TestAgent } from "./support.js";

/**
 * A GPU node at $3.60 an hour and one GPU job of a fresh account placed on it (its `n`th H100,
 * `tag` keeping each test file's GPU uuids apart): what a usage receipt is then stamped over.
 */
export async function gpuAttempt(
  n: number,
  tag: string,
  name = "usage",
): Promise<{ agent: TestAgent; a: Assignment; apiKey: string }> {
  const { apiKey } = await signup();
  const agent = new TestAgent();
  await agent.register(
    hardware([{ ...H100, uuid: `GPU-${String(n).padStart(8, "0")}-${tag}-0000-0000-000000000000` }]),
    { pricePerGpuHour: "3.60" },
  );
  const created = await submit(apiKey, {
    name,
    image: "meridian/busybox:test",
    region: "eu-west",
    resources: { gpus: 1 },
    timeoutSeconds: 600,
  });
  expect(created.status).toBe(201);
  const [a] = (await agent.poll()).assignments;
  if (!a) throw new Error("no assignment");
  return { agent, a, apiKey };
}

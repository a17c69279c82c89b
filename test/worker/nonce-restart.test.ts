import { abortAllDurableObjects } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { PROMISE_STEP_MS } from "../../src/durable/nonce-guard.js";
import { drainAgents, expectError, hardware, TestAgent } from "./support.js";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The nonce guard across a restart of the Region object (its memory of nonces gone, its promise in
// storage kept): a request held at the door while the object restarted is taken, a replay of one the
// old instance accepted is not, and neither is a second copy of the held one.
describe("signatures across a Region object restart", () => {
  afterEach(drainAgents);

  it("accepts an honest request signed before the restart and refuses replays", async () => {
    const agent = new TestAgent();
    await agent.register(hardware());
    const body = { running: [], waitMs: 0 };
    const accepted = await agent.signedRequest("/v1/agent/poll", body);
    const replay = accepted.clone();
    expect((await exports.default.fetch(accepted)).status).toBe(200);
    // Signed a step after the last accepted one, then held (as wrangler holds requests while it starts).
    await pause(PROMISE_STEP_MS + 200);
    const held = await agent.signedRequest("/v1/agent/poll", body);
    const heldAgain = held.clone();

    await abortAllDurableObjects();

    await expectError(await exports.default.fetch(replay), 401, "signed_before_restart");
    expect((await exports.default.fetch(held)).status).toBe(200);
    await expectError(await exports.default.fetch(heldAgain), 401, "replayed_request");
  });

  it("refuses, with the first timestamp it takes, a signature from just before the restart", async () => {
    const agent = new TestAgent();
    await agent.register(hardware());
    const body = { running: [], waitMs: 0 };
    expect((await agent.send("/v1/agent/poll", body)).status).toBe(200);
    // Within the step the old instance promised: the new one cannot tell it from a replay.
    const early = await agent.signedRequest("/v1/agent/poll", body);
    await abortAllDurableObjects();
    const res = await exports.default.fetch(early);
    expect(res.status).toBe(401);
    const refusal = (await res.json()) as { error: { code: string; details?: { notBefore?: number } } };
    expect(refusal.error.code).toBe("signed_before_restart");
    expect(refusal.error.details?.notBefore).toBeGreaterThan(0);
    // Signing again (the agent's answer) is taken.
    expect((await agent.send("/v1/agent/poll", body)).status).toBe(200);
  });
});

import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_SECRET_BYTES } from "../../src/shared/storage/secrets-api.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  hardware,
  jsonInit,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const spec = { name: "t", image: "meridian/busybox:test", command: ["true"], region: "eu-west" };

async function rows(): Promise<Record<string, unknown>[]> {
  return (await env.DB.prepare("SELECT * FROM secrets").all()).results;
}

describe("secrets", () => {
  afterEach(drainAgents);

  it("are stored sealed, listed by name only, replaced and deleted", async () => {
    const { apiKey, id } = await signup();
    const value = "hf_supersecretvalue_1234567890";
    const created = await call("/v1/secrets", jsonInit("POST", { name: "hf", value }, apiKey));
    expect(created.status).toBe(201);
    const createdText = await created.text();
    expect(createdText).not.toContain(value);

    const stored = (await rows()).filter((row) => row.account_id === id);
    expect(stored).toHaveLength(1);
    // Nothing in D1 holds the value in clear, nor a recognisable piece of it.
    expect(JSON.stringify(stored)).not.toContain("supersecret");
    expect(stored[0]).toMatchObject({ name: "hf", key_version: 1 });

    const listed = await (await call("/v1/secrets", authed(apiKey))).text();
    expect(listed).not.toContain(value);
    expect(JSON.parse(listed)).toMatchObject({ secrets: [{ name: "hf" }] });

    // Same name: the value is replaced, the secret not duplicated.
    expect((await call("/v1/secrets", jsonInit("POST", { name: "hf", value: "other" }, apiKey))).status).toBe(
      201,
    );
    expect((await rows()).filter((row) => row.account_id === id)).toHaveLength(1);

    expect((await call("/v1/secrets/hf", authed(apiKey, "DELETE"))).status).toBe(204);
    await expectError(await call("/v1/secrets/hf", authed(apiKey, "DELETE")), 404, "secret_not_found");
    expect((await rows()).filter((row) => row.account_id === id)).toHaveLength(0);
  });

  it("refuse bad input with 4xx and store nothing", async () => {
    const { apiKey, id } = await signup();
    const tooBig = "x".repeat(MAX_SECRET_BYTES + 1);
    await expectError(
      await call("/v1/secrets", jsonInit("POST", { name: "big", value: tooBig }, apiKey)),
      400,
      "invalid_request",
    );
    await expectError(
      await call("/v1/secrets", jsonInit("POST", { name: "Bad Name", value: "v" }, apiKey)),
      400,
      "invalid_request",
    );
    await expectError(
      await call("/v1/secrets", jsonInit("POST", { name: "n", value: "" }, apiKey)),
      400,
      "invalid_request",
    );
    await expectError(
      await call("/v1/secrets", jsonInit("POST", { name: "n", value: "v", extra: 1 }, apiKey)),
      400,
      "invalid_request",
    );
    await expectError(await call("/v1/secrets", jsonInit("POST", "{not json", apiKey)), 400, "invalid_json");
    await expectError(await call("/v1/secrets", { method: "GET" }), 401, "unauthorized");
    expect((await rows()).filter((row) => row.account_id === id)).toHaveLength(0);
    // The refusal of an oversized value does not echo it.
    const refused = await call("/v1/secrets", jsonInit("POST", { name: "big", value: tooBig }, apiKey));
    expect((await refused.text()).length).toBeLessThan(2000);
  });

  it("a spec naming a missing or another account's secret is refused, and no job is stored", async () => {
    const owner = await signup();
    const other = await signup();
    await call("/v1/secrets", jsonInit("POST", { name: "mine", value: "v1" }, owner.apiKey));
    const before = (await env.DB.prepare("SELECT count(*) AS n FROM jobs").first<{ n: number }>())?.n;
    await expectError(
      await submit(other.apiKey, { ...spec, env: { TOKEN: { secret: "mine" } } }),
      422,
      "secret_not_found",
    );
    await expectError(
      await submit(owner.apiKey, { ...spec, env: { TOKEN: { secret: "absent" } } }),
      422,
      "secret_not_found",
    );
    await expectError(
      await submit(owner.apiKey, { ...spec, env: { TOKEN: { secret: "UPPER" } } }),
      400,
      "invalid_request",
    );
    const after = (await env.DB.prepare("SELECT count(*) AS n FROM jobs").first<{ n: number }>())?.n;
    expect(after).toBe(before);
  });

  it("reach only the agent of the attempt, never the assignment, the job view or the events", async () => {
    const { apiKey } = await signup();
    const value = "tok_value_for_the_container";
    await call("/v1/secrets", jsonInit("POST", { name: "hf", value }, apiKey));
    const agent = new TestAgent();
    await agent.register(hardware());
    const res = await submit(apiKey, { ...spec, env: { HF_TOKEN: { secret: "hf" }, PLAIN: "p" } });
    expect(res.status).toBe(201);
    const job = (await res.json()) as { id: string };
    const { assignments } = await agent.poll();
    const a = assignments[0];
    if (!a) throw new Error("no assignment");
    expect(a.env.PLAIN).toBe("p");
    expect(a.env.HF_TOKEN).toBeUndefined();
    expect(JSON.stringify(assignments)).not.toContain(value);

    const grant = await agent.send(`/v1/agent/attempts/${a.attemptId}/storage/grant`, { fencing: a.fencing });
    expect(grant.status).toBe(200);
    expect(((await grant.json()) as { env: Record<string, string> }).env).toEqual({ HF_TOKEN: value });

    // Another node, or a stale fencing number, gets nothing.
    const intruder = new TestAgent();
    await intruder.register(hardware());
    await expectError(
      await intruder.send(`/v1/agent/attempts/${a.attemptId}/storage/grant`, { fencing: a.fencing }),
      409,
      "stale_lease",
    );
    await expectError(
      await agent.send(`/v1/agent/attempts/${a.attemptId}/storage/grant`, { fencing: a.fencing + 1 }),
      409,
      "stale_lease",
    );

    const views = [
      await (await call(`/v1/jobs/${job.id}`, authed(apiKey))).text(),
      await (await call(`/v1/jobs/${job.id}/events`, authed(apiKey))).text(),
      await (await call("/v1/jobs", authed(apiKey))).text(),
    ];
    for (const text of views) expect(text).not.toContain(value);
    expect(JSON.parse(views[0] ?? "{}").spec.env.HF_TOKEN).toEqual({ secret: "hf" });
  });

  it("a row copied to another account does not open", async () => {
    const a = await signup();
    const b = await signup();
    await call("/v1/secrets", jsonInit("POST", { name: "k", value: "only-for-a" }, a.apiKey));
    const [row] = await env.DB.prepare("SELECT * FROM secrets WHERE account_id = ?")
      .bind(a.id)
      .all()
      .then((r) => r.results);
    if (!row) throw new Error("no row");
    await env.DB.prepare(
      "INSERT INTO secrets (account_id, name, ciphertext, iv, wrapped_key, wrap_iv, key_version, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
    )
      .bind(b.id, "k", row.ciphertext, row.iv, row.wrapped_key, row.wrap_iv, 1, 1, 1)
      .run();
    const { openSecrets } = await import("../../src/worker/storage/secret-store.js");
    await expect(openSecrets(env, b.id, ["k"])).rejects.toThrow();
    expect((await openSecrets(env, a.id, ["k"])).get("k")).toBe("only-for-a");
  });
});

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { authed, call, expectError, signup } from "./support.js";

describe("sign-up and API keys", () => {
  it("creates an account and returns a prefixed key once, storing only its hash", async () => {
    const res = await call("/v1/accounts", { method: "POST" });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; apiKey: string };
    expect(body.id).toMatch(/^acct_[0-9a-z]{26}$/);
    expect(body.apiKey).toMatch(/^mrd_[0-9a-z]{26}_[1-9A-Za-z]{32,64}$/);
    const rows = await env.DB.prepare("SELECT * FROM api_keys WHERE account_id = ?").bind(body.id).all();
    expect(rows.results).toHaveLength(1);
    const stored = JSON.stringify(rows.results);
    const secret = body.apiKey.split("_")[2] ?? "";
    expect(secret.length).toBeGreaterThan(30);
    expect(stored).not.toContain(secret);
  });

  it("accepts an optional name and email, and refuses unknown fields", async () => {
    const ok = await call("/v1/accounts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada", email: "ada@example.com" }),
    });
    expect(ok.status).toBe(201);
    await expectError(
      await call("/v1/accounts", { method: "POST", body: JSON.stringify({ admin: true }) }),
      400,
      "invalid_request",
    );
  });

  it("answers 401 for a missing, malformed, unknown or tampered key", async () => {
    const { apiKey } = await signup();
    expect((await call("/v1/jobs", authed(apiKey))).status).toBe(200);
    await expectError(await call("/v1/jobs"), 401, "unauthorized");
    await expectError(await call("/v1/jobs", authed("not-a-key")), 401, "unauthorized");
    const tampered = `${apiKey.slice(0, -1)}${apiKey.endsWith("a") ? "b" : "a"}`;
    await expectError(await call("/v1/jobs", authed(tampered)), 401, "unauthorized");
    const otherId = apiKey.replace(/^mrd_.{26}/, `mrd_${"0".repeat(26)}`);
    await expectError(await call("/v1/jobs", authed(otherId)), 401, "unauthorized");
  });

  it("answers unknown routes with a JSON 404", async () => {
    await expectError(await call("/v1/nope"), 404, "not_found");
  });
});

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/worker/app.js";

// The suite's config lifts the limits for every other test; here the app runs with tight ones.
const limited = {
  ...env,
  RATE_LIMITS: JSON.stringify({
    signupPerAddress: { limit: 3, windowSeconds: 3600 },
    requestsPerKey: { limit: 5, windowSeconds: 60 },
    authFailuresPerAddress: { limit: 4, windowSeconds: 60 },
  }),
} as Env;

function request(path: string, init: RequestInit & { address?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.address !== undefined) headers.set("cf-connecting-ip", init.address);
  return Promise.resolve(app.request(`http://meridian.test${path}`, { ...init, headers }, limited));
}

async function accounts(): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM accounts").first<{ n: number }>())?.n ?? 0;
}

async function expect429(res: Response, maxRetry: number): Promise<void> {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxRetry);
  const body = (await res.json()) as { error: { code: string; details: { retryAfterSeconds: number } } };
  expect(body.error.code).toBe("rate_limited");
  expect(body.error.details.retryAfterSeconds).toBe(retryAfter);
}

describe("edge rate limits", () => {
  it("sign-ups per address: the fourth in the hour is 429 with Retry-After and creates nothing; another address is unaffected", async () => {
    const address = "203.0.113.7";
    for (let i = 0; i < 3; i++)
      expect((await request("/v1/accounts", { method: "POST", address })).status).toBe(201);
    const before = await accounts();
    // 3 per hour refills one every 1,200 s.
    await expect429(await request("/v1/accounts", { method: "POST", address }), 1200);
    expect(await accounts()).toBe(before);
    expect((await request("/v1/accounts", { method: "POST", address: "203.0.113.8" })).status).toBe(201);
  });

  it("requests per key: the sixth in a minute is 429; another key of another account is unaffected", async () => {
    const signup = async (address: string): Promise<string> =>
      ((await (await request("/v1/accounts", { method: "POST", address })).json()) as { apiKey: string })
        .apiKey;
    const first = await signup("198.51.100.20");
    const second = await signup("198.51.100.21");
    const get = (key: string): Promise<Response> =>
      request("/v1/jobs", { headers: { authorization: `Bearer ${key}` }, address: "198.51.100.20" });
    for (let i = 0; i < 5; i++) expect((await get(first)).status).toBe(200);
    // 5 per minute refills one every 12 s.
    await expect429(await get(first), 12);
    expect((await get(second)).status).toBe(200);
  });

  it("failed authentications per address: key guessing turns into 429s; a valid key from elsewhere still works", async () => {
    const address = "192.0.2.99";
    const bad = { headers: { authorization: "Bearer mrd_guess" }, address };
    for (let i = 0; i < 4; i++) expect((await request("/v1/jobs", bad)).status).toBe(401);
    await expect429(await request("/v1/jobs", bad), 15);
    const key = (
      (await (await request("/v1/accounts", { method: "POST", address: "192.0.2.100" })).json()) as {
        apiKey: string;
      }
    ).apiKey;
    expect(
      (await request("/v1/jobs", { headers: { authorization: `Bearer ${key}` }, address: "192.0.2.100" }))
        .status,
    ).toBe(200);
  });
});

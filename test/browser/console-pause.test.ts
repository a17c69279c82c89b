import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath } from "../support/browser.js";
import { counterSpec } from "../support/checkpoint-counter.js";
import { type ConsoleRig, startConsoleRig } from "../support/console-rig.js";
import type { ControlPlane } from "../support/control-plane.js";
import { dockerAvailable } from "../support/docker.js";

const browserPath = dockerAvailable("browser: pause, resume and log reconnects")
  ? chromiumPath("browser: pause, resume and log reconnects")
  : undefined;

// The job page in a real Chromium against wrangler dev and a real agent: the Pause and Resume
// buttons, and a log stream that breaks (as it does when the job's Region object is evicted).
describe.skipIf(!browserPath)("the console's job controls and log reconnects in Chromium", () => {
  let rig: ConsoleRig | undefined;
  let plane: ControlPlane;
  let page: Page;
  let apiKey = "";

  async function submit(spec: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${plane.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify(spec),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  beforeAll(async () => {
    rig = await startConsoleRig(browserPath ?? "");
    ({ plane, page } = rig);
    await page.goto(plane.url);
    await page.getByRole("button", { name: "Sign up" }).click();
    apiKey = (await page.getByTestId("new-api-key").textContent()) ?? "";
    expect(apiKey).toMatch(/^mrd_/);
    await page.getByRole("button", { name: "Continue to the console" }).click();
  }, 180_000);

  afterAll(async () => {
    await rig?.stop();
  });

  it("reconnects a log stream that broke, on its own, and shows the output that came meanwhile", {
    timeout: 120_000,
  }, async () => {
    // The first two follow requests fail as a dropped connection would; the page must try again.
    let follows = 0;
    await page.route(/\/logs\?follow=1/, async (route) => {
      follows++;
      if (follows <= 2) await route.abort("connectionreset");
      else await route.continue();
    });
    const jobId = await submit(counterSpec(40, { maxRetries: 0 }));
    await page.goto(`${plane.url}/jobs/${jobId}`);
    const logs = page.getByTestId("logs");
    await expect.poll(() => logs.textContent(), { timeout: 60_000 }).toContain("count 3");
    expect(follows).toBeGreaterThanOrEqual(3);
    expect(await page.getByText("Log stream failed").count()).toBe(0);
    // Still live: later lines arrive over the reconnected stream.
    await expect.poll(() => logs.textContent(), { timeout: 30_000 }).toContain("count 6");
    await page.unroute(/\/logs\?follow=1/);
    await page.getByRole("button", { name: "Cancel job" }).click();
    await expect
      .poll(() => page.getByTestId("job-status").textContent(), { timeout: 60_000 })
      .toContain("cancelled");
  });

  it("pauses a running job with its button and resumes it from its checkpoint with the other", {
    timeout: 150_000,
  }, async () => {
    const M = 8;
    const jobId = await submit(
      counterSpec(M, {
        checkpoint: { path: "/meridian/checkpoint", intervalSeconds: 60 },
      }),
    );
    await page.goto(`${plane.url}/jobs/${jobId}`);
    const status = page.getByTestId("job-status");
    await expect.poll(() => page.getByTestId("logs").textContent(), { timeout: 60_000 }).toContain("count 2");
    await page.getByRole("button", { name: "Pause job" }).click();
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toContain("paused");
    expect(await page.getByRole("button", { name: "Pause job" }).count()).toBe(0);
    await page.getByRole("button", { name: "Resume job" }).click();
    await expect.poll(() => status.textContent(), { timeout: 90_000 }).toContain("succeeded");
    const text = await (
      await fetch(`${plane.url}/v1/jobs/${jobId}/logs`, { headers: { authorization: `Bearer ${apiKey}` } })
    ).text();
    const start = Number(/resumed=1 start=(\d+)/.exec(text)?.[1]);
    expect(start, text).toBeGreaterThanOrEqual(2);
    expect(text).toContain(`final=${M}`);
  });
});

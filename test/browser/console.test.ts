import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { chromiumPath } from "../support/browser.js";
import { type ConsoleRig, startConsoleRig } from "../support/console-rig.js";
import type { ControlPlane } from "../support/control-plane.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";

/** Screenshots land here (a CI artifact); a few are copied to docs/ by hand for the README. */
const SHOTS = path.join(import.meta.dirname, "../../.test-artifacts/console");

const browserPath = dockerAvailable("browser: console on wrangler dev + agent")
  ? chromiumPath("browser: console")
  : undefined;

// The console in a real Chromium, against the real local stack: wrangler dev (which serves the
// console's build as static assets) and a host agent running real containers.
describe.skipIf(!browserPath)("the web console in Chromium", () => {
  let rig: ConsoleRig | undefined;
  let plane: ControlPlane;
  let page: Page;
  let nodeId = "";
  let succeededJob = "";

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  async function submitFromEditor(spec: string): Promise<string> {
    await page.getByRole("link", { name: "Submit", exact: true }).click();
    const editor = page.getByTestId("spec-editor");
    await editor.click();
    await page.keyboard.press("Control+a");
    await page.keyboard.press("Delete");
    // insertText, not typing: the editor's auto-indent would re-indent typed YAML.
    await page.keyboard.insertText(spec);
    await expect
      .poll(() => page.getByTestId("estimate").textContent(), { timeout: 20_000 })
      .toContain("Per hour");
    await expect
      .poll(() => page.getByTestId("quote").textContent(), { timeout: 20_000 })
      .toContain("Places now");
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.waitForURL(/\/jobs\/job_/, { timeout: 20_000 });
    return page.url().split("/jobs/")[1] ?? "";
  }

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    rig = await startConsoleRig(browserPath ?? "");
    ({ plane, page, nodeId } = rig);
  });

  beforeEach((context) => {
    // What the page showed when a step failed: the first thing to look at.
    onTestFailed(async () => {
      await shot(`failed-${context.task.name.replace(/\W+/g, "-").slice(0, 60)}`).catch(() => undefined);
    });
  });

  afterAll(async () => {
    await rig?.stop();
  });

  it("refuses a wrong key at sign-in with a message, then signs up", async () => {
    await page.goto(plane.url);
    await page.getByLabel("API key").fill("mrd_wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").first().textContent()).toContain("refused");
    await page.getByRole("button", { name: "Sign up" }).click();
    await expect.poll(() => page.getByTestId("new-api-key").textContent()).toMatch(/^mrd_/);
    await shot("sign-up");
    await page.getByRole("button", { name: "Continue to the console" }).click();
    await expect.poll(() => page.getByTestId("balance-available").textContent()).toMatch(/^\$\d/);
  });

  it("submits a job from the editor after its estimate, streams its logs live, and shows it succeed", {
    timeout: 120_000,
  }, async () => {
    const jobId = await submitFromEditor(
      `name: browser-hello\nimage: ${TEST_IMAGE}\ncommand: [sh, -c, "echo first-line; sleep 3; echo last-line"]\nresources: { cpus: 0.5, memoryGb: 0.25 }\ntimeoutSeconds: 120\n`,
    );
    expect(jobId).toMatch(/^job_/);
    succeededJob = jobId;
    const logs = page.getByTestId("logs");
    // The first line shows while the job still runs: the stream, not the finished log.
    await expect.poll(() => logs.textContent(), { timeout: 60_000 }).toContain("first-line");
    const whenFirst = await page.getByTestId("job-status").textContent();
    expect(whenFirst).not.toContain("succeeded");
    await shot("job-running");
    await expect
      .poll(() => page.getByTestId("job-status").textContent(), { timeout: 60_000 })
      .toContain("succeeded");
    // Once the job ends the page swaps the stream for the stored log; the last line may land a moment later.
    await expect.poll(() => logs.textContent(), { timeout: 15_000 }).toContain("last-line");
    expect(await page.getByTestId("timeline").textContent()).toContain("running");
    await shot("job-succeeded");
  });

  it("cancels a long job", { timeout: 120_000 }, async () => {
    await submitFromEditor(
      `name: browser-long\nimage: ${TEST_IMAGE}\ncommand: [sh, -c, "echo started; sleep 300"]\nresources: { cpus: 0.5, memoryGb: 0.25 }\ntimeoutSeconds: 600\n`,
    );
    await shot("long-job");
    await expect.poll(() => page.getByTestId("logs").textContent(), { timeout: 60_000 }).toContain("started");
    await page.getByRole("button", { name: "Cancel job" }).click();
    await expect
      .poll(() => page.getByTestId("job-status").textContent(), { timeout: 60_000 })
      .toContain("cancelled");
    await expect
      .poll(() => page.getByTestId("timeline").textContent(), { timeout: 20_000 })
      .toContain("cancelled");
  });

  it("shows the editor's and the API's refusals at their fields", async () => {
    await page.getByRole("link", { name: "Submit", exact: true }).click();
    const editor = page.getByTestId("spec-editor");
    await editor.click();
    await page.keyboard.press("Control+a");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(`name: bad\nimage: ${TEST_IMAGE}\nresources: { gpus: 99 }\n`);
    await expect.poll(() => page.getByTestId("spec-issues").textContent()).toContain("resources.gpus");
    expect(await page.locator(".cm-lintRange-error").count()).toBeGreaterThan(0);
    expect(await page.getByRole("button", { name: "Submit job" }).isDisabled()).toBe(true);
  });

  it("lists the local node on the nodes page, with the map and the filter", async () => {
    await page.getByRole("link", { name: "Nodes", exact: true }).click();
    const table = page.getByTestId("nodes-table");
    await expect.poll(() => table.textContent(), { timeout: 20_000 }).toContain(nodeId);
    await expect.poll(() => page.locator("svg.map circle").count()).toBeGreaterThan(0);
    await page.getByLabel("Filter").fill("gpu=H100");
    await expect.poll(() => table.textContent()).not.toContain(nodeId);
    await page.getByLabel("Filter").fill("gpus=0 price<100");
    await expect.poll(() => table.textContent()).toContain(nodeId);
    await shot("nodes");
  });

  it("shows the job's charge on the billing page", async () => {
    await page.getByRole("link", { name: "Billing", exact: true }).click();
    // A CPU job is charged by the CPU table (src/shared/cpu-pricing.ts) for its billable seconds.
    const byJob = page.getByTestId("usage-by-job");
    await expect.poll(() => byJob.textContent(), { timeout: 20_000 }).toContain(succeededJob);
    expect(await byJob.locator("tr", { hasText: succeededJob }).textContent()).toMatch(
      /\$\d+\.\d\d\s*\d+\s*s/,
    );
    expect(await page.getByTestId("usage-total").textContent()).toMatch(/^\$\d/);
    expect(await page.getByTestId("usage-total").textContent()).not.toMatch(/^\$0\.00$/);
    await shot("billing");
  });

  it("is usable at 375 px: nothing overflows sideways", async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const name of ["Overview", "Jobs", "Nodes", "Billing"]) {
      await page.getByRole("link", { name, exact: true }).click();
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, name).toBeLessThanOrEqual(0);
    }
    await shot("overview-375");
  });

  it("signs out a revoked or expired key with a message", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    // A key the server no longer accepts, as a revoked one would be.
    await page.evaluate(() =>
      localStorage.setItem("meridian.apiKey", "mrd_0000000000000000000000000_revoked"),
    );
    await page.goto(`${plane.url}/billing`);
    await expect.poll(() => page.getByRole("alert").first().textContent()).toContain("revoked");
    expect(await page.getByLabel("API key").isVisible()).toBe(true);
  });

  it("serves the API reference offline at /docs from its own assets", async () => {
    const external: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(plane.url)) external.push(request.url());
    });
    await page.goto(`${plane.url}/docs/`);
    await expect.poll(() => page.locator(".opblock").count(), { timeout: 20_000 }).toBeGreaterThan(20);
    expect(external).toEqual([]);
    await shot("docs");
  });
});

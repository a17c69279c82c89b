import { createHash, createPrivateKey, sign } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateKeyPairSigner } from "@solana/kit";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { type RunningChain, startRpcServer } from "../../src/local-chain/rpc-server.js";
import { chromiumPath } from "../support/browser.js";
import { type ConsoleRig, startConsoleRig } from "../support/console-rig.js";
import type { ControlPlane } from "../support/control-plane.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { parseTransferRequest, payTransferRequest } from "../support/solana-payer.js";
import { UserClient } from "../support/user-client.js";
import { installTestWallet, type TestWalletKey, testWalletKey } from "./test-wallet.js";

const SHOTS = path.join(import.meta.dirname, "../../.test-artifacts/console");

const browserPath = dockerAvailable("browser: console account pages on wrangler dev + agent + chain")
  ? chromiumPath("browser: console account pages")
  : undefined;

// The console's money and account pages in a real Chromium, against wrangler dev with a local
// Solana chain (LiteSVM behind JSON-RPC) and a host agent running real containers.
describe.skipIf(!browserPath)("the web console's wallet, top-up, secrets, keys and outputs", () => {
  let chain: RunningChain;
  let chainDir = "";
  let rig: ConsoleRig | undefined;
  let plane: ControlPlane;
  let page: Page;
  let wallet: TestWalletKey;

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const apiKey = () => page.evaluate(() => localStorage.getItem("meridian.apiKey") ?? "");
  const api = (key: string, p: string, init: RequestInit = {}) =>
    fetch(`${plane.url}${p}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    chainDir = await mkdtemp(path.join(tmpdir(), "meridian-browser-chain-"));
    chain = await startRpcServer({ dir: chainDir, port: 0, slotMs: 50, finalityLag: 4 });
    const a = chain.chain.addresses;
    const treasury = JSON.parse(
      await readFile(path.join(chainDir, "keys", "treasury.json"), "utf8"),
    ) as number[];
    rig = await startConsoleRig(browserPath ?? "", {
      vars: {
        SOLANA_CLUSTER: "local",
        SOLANA_RPC_URL: chain.url,
        USDC_MINT: a.usdcMint,
        MRD_MINT: a.mrdMint,
        STAKE_VAULT: a.stakeVault,
        BURN_VAULT: a.burnVault,
        TREASURY_SECRET_KEY: Buffer.from(treasury).toString("base64"),
      },
    });
    ({ plane, page } = rig);
    wallet = testWalletKey();
    await installTestWallet(page, wallet);
  });

  beforeEach((context) => {
    onTestFailed(async () => {
      await shot(`failed-${context.task.name.replace(/\W+/g, "-").slice(0, 60)}`).catch(() => undefined);
    });
  });

  afterAll(async () => {
    await rig?.stop();
    await chain?.close();
    if (chainDir) await rm(chainDir, { recursive: true, force: true });
  });

  it("signs in with a Solana wallet: the wallet signs the server's exact message", async () => {
    await page.goto(plane.url);
    await page.getByRole("button", { name: "Sign in with Test Wallet" }).click();
    await expect
      .poll(() => page.getByTestId("balance-available").textContent(), { timeout: 20_000 })
      .toMatch(/^\$\d/);
    const signed = await page.evaluate(
      () => (window as unknown as { __signedMessages: string[] }).__signedMessages,
    );
    expect(signed).toHaveLength(1);
    const message = signed[0] ?? "";
    expect(message).toContain("wants you to sign in with your Solana account:");
    expect(message.split("\n")[1]).toBe(wallet.address);
    // The key the console keeps is one the server issued for this wallet's account: a session key
    // of the hour chosen by default, whose end the console keeps and shows.
    const key = await apiKey();
    expect((await api(key, "/v1/balance")).status).toBe(200);
    const keys = (await (await api(key, "/v1/account/keys")).json()) as {
      keys: { createdAt: string; expiresAt: string | null }[];
    };
    const [session] = keys.keys;
    expect(keys.keys).toHaveLength(1);
    expect(Date.parse(session?.expiresAt ?? "") - Date.parse(session?.createdAt ?? "")).toBe(3_600_000);
    expect(await page.evaluate(() => localStorage.getItem("meridian.apiKeyExpiresAt"))).toBe(
      session?.expiresAt,
    );
    await expect
      .poll(() => page.getByTestId("session-ends").textContent(), { timeout: 10_000 })
      .toMatch(/^Wallet session ends at \S+/);
    // The same wallet signs in to the same account again.
    const again = await fetch(`${plane.url}/v1/auth/wallet/challenge`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ address: wallet.address }),
    });
    expect(again.status).toBe(201);
  });

  it("tops up with a Solana Pay request and QR code, and shows it credited", {
    timeout: 90_000,
  }, async () => {
    await page.getByRole("link", { name: "Billing", exact: true }).click();
    const before = await page.getByTestId("topup-balance").textContent();
    await page.getByLabel("Amount").fill("7.5");
    await page.getByRole("button", { name: "Create payment request" }).click();
    const url = (await page.getByTestId("topup-url").textContent()) ?? "";
    expect(url).toMatch(/^solana:/);
    expect(
      await page.getByTestId("topup-qr").evaluate((img: HTMLImageElement) => img.naturalWidth),
    ).toBeGreaterThan(0);
    expect(await page.getByTestId("topup-status").textContent()).toBe("pending");
    await shot("topup-pending");
    // An independent wallet pays the request as scanned: funded by the local faucet.
    const payer = await generateKeyPairSigner();
    for (const [token, amount] of [
      ["sol", "1"],
      ["usdc", "10"],
    ] as const) {
      const res = await fetch(`${plane.url}/v1/dev/faucet`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ wallet: payer.address, amount, token }),
      });
      expect(res.status).toBe(201);
    }
    await payTransferRequest(chain.url, payer, parseTransferRequest(url));
    await expect
      .poll(() => page.getByTestId("topup-status").textContent(), { timeout: 60_000 })
      .toBe("credited");
    await expect
      .poll(() => page.getByTestId("topup-balance").textContent(), { timeout: 10_000 })
      .not.toBe(before);
    await shot("topup-credited");
  });

  it("keeps secrets by name and never shows a value", async () => {
    await page.getByRole("link", { name: "Account", exact: true }).click();
    await page.getByLabel("Name", { exact: true }).nth(1).fill("hf");
    await page.getByLabel("Value").fill("value-that-must-not-show");
    await page.getByRole("button", { name: "Save secret" }).click();
    const table = page.getByTestId("secrets");
    await expect.poll(() => table.textContent(), { timeout: 10_000 }).toContain("hf");
    expect(await page.getByLabel("Value").inputValue()).toBe("");
    expect(await page.content()).not.toContain("value-that-must-not-show");
    const listed = await (await api(await apiKey(), "/v1/secrets")).text();
    expect(listed).toContain('"hf"');
    expect(listed).not.toContain("value-that-must-not-show");
    await page.getByRole("button", { name: "Delete secret hf" }).click();
    await expect.poll(() => page.getByText("No secrets yet.").isVisible()).toBe(true);
  });

  it("creates a scoped API key shown once, and revokes it", async () => {
    await page.getByLabel("Name", { exact: true }).first().fill("ci");
    // "read" is checked by default: a read-only key.
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = (await page.getByTestId("created-key-secret").textContent()) ?? "";
    expect(secret).toMatch(/^mrd_/);
    await shot("api-keys");
    expect((await api(secret, "/v1/jobs")).status).toBe(200);
    expect((await api(secret, "/v1/secrets", { method: "POST", body: "{}" })).status).toBe(403);
    await page.getByRole("button", { name: "Done" }).click();
    expect(await page.content()).not.toContain(secret);
    const row = page.getByTestId("api-keys").locator("tr", { hasText: "ci" });
    await row.getByRole("button", { name: /^Revoke / }).click();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain("revoked");
    expect((await api(secret, "/v1/jobs")).status).toBe(401);
  });

  it("lists a job's outputs with SHA-256 and a link that serves the file", { timeout: 90_000 }, async () => {
    const user = new UserClient(plane.url, await apiKey());
    const content = "result 42\n";
    const job = await user.submit({
      name: "browser-outputs",
      image: TEST_IMAGE,
      command: ["sh", "-c", `printf '${content.trim()}\\n' > /outputs/result.txt`],
      resources: { cpus: 0.5, memoryGb: 0.25 },
      outputs: [{ path: "/outputs" }],
      timeoutSeconds: 120,
      maxRetries: 0,
    });
    const done = await user.waitFor(
      job.id,
      (j) => ["succeeded", "failed", "cancelled"].includes(j.status),
      60_000,
    );
    expect(done.status).toBe("succeeded");
    await page.goto(`${plane.url}/jobs/${job.id}`);
    const table = page.getByTestId("outputs");
    await expect.poll(() => table.textContent(), { timeout: 20_000 }).toContain("result.txt");
    const sha = createHash("sha256").update(content).digest("hex");
    expect(await table.textContent()).toContain(sha);
    const href = (await table.getByRole("link", { name: /result\.txt/ }).getAttribute("href")) ?? "";
    const served = await fetch(href);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe(content);
    await shot("job-outputs");
  });

  it("lists each node's price per vCPU-hour", async () => {
    await page.getByRole("link", { name: "Nodes", exact: true }).click();
    const table = page.locator("table", { hasText: "Price /vCPU-h" });
    // The rig's agent sets no CPU price of its own: it asks the CPU table's $0.009483.
    await expect.poll(() => table.textContent(), { timeout: 20_000 }).toContain("$0.009483");
  });

  it("says when the wallet session ends, and when a session key has expired", {
    timeout: 150_000,
  }, async () => {
    // The console signs out when its session's end passes (here put a moment ahead), and says so.
    await page.evaluate(() =>
      localStorage.setItem("meridian.apiKeyExpiresAt", new Date(Date.now() + 1_500).toISOString()),
    );
    await page.reload();
    await expect
      .poll(() => page.getByRole("alert").first().textContent(), { timeout: 20_000 })
      .toMatch(/^Your wallet session ended at .+ Sign in again with your wallet/);
    expect(await apiKey()).toBe("");

    // A session key the server has ended (its shortest life, 60 s) answers 401 key_expired; the
    // console, not knowing its end, signs out on that answer and says the session key expired.
    const challenge = (await (
      await fetch(`${plane.url}/v1/auth/wallet/challenge`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ address: wallet.address }),
      })
    ).json()) as { message: string };
    const signature = sign(
      null,
      Buffer.from(challenge.message),
      createPrivateKey({ key: Buffer.from(wallet.pkcs8, "base64"), format: "der", type: "pkcs8" }),
    ).toString("base64");
    const verified = await fetch(`${plane.url}/v1/auth/wallet/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: challenge.message, signature, key: "session", expiresInSeconds: 60 }),
    });
    expect(verified.status).toBe(200);
    const short = ((await verified.json()) as { apiKey: string }).apiKey;
    expect((await api(short, "/v1/balance")).status).toBe(200);
    await expect
      .poll(
        async () =>
          ((await (await api(short, "/v1/balance")).json()) as { error?: { code: string } }).error?.code,
        {
          timeout: 90_000,
          interval: 2_000,
        },
      )
      .toBe("key_expired");
    await page.evaluate((key) => localStorage.setItem("meridian.apiKey", key), short);
    await page.reload();
    await expect
      .poll(() => page.getByRole("alert").first().textContent(), { timeout: 20_000 })
      .toBe("Your session key has expired. Sign in again with your wallet to continue.");
    expect(await apiKey()).toBe("");
    await shot("wallet-session-expired");
  });
});

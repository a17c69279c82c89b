import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { type AgentHandle, startAgent } from "../../src/agent/agent.js";
import { silentLog } from "../../src/agent/agent-log.js";
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from "./control-plane.js";

/** What every browser test starts from: wrangler dev, one real agent, and a Chromium page. */
export interface ConsoleRig {
  plane: ControlPlane;
  agent: AgentHandle;
  nodeId: string;
  browser: Browser;
  page: Page;
  /** Closes the browser, stops the agent and the control plane, removes the agent's folder. */
  stop(): Promise<void>;
}

/** Starts the rig; whatever had started is stopped again if a later step fails. */
export async function startConsoleRig(
  browserPath: string,
  options: ControlPlaneOptions = {},
): Promise<ConsoleRig> {
  const started: { plane?: ControlPlane; agent?: AgentHandle; browser?: Browser; dataDir?: string } = {};
  const stop = async () => {
    await started.browser?.close();
    await started.agent?.stop();
    await started.plane?.stop();
    if (started.dataDir) await rm(started.dataDir, { recursive: true, force: true });
  };
  try {
    const plane = await startControlPlane(options);
    started.plane = plane;
    started.dataDir = await mkdtemp(path.join(tmpdir(), "meridian-agent-"));
    const agent = await startAgent({
      dataDir: started.dataDir,
      controlPlane: plane.url,
      nvidiaSmi: "/nonexistent",
      log: silentLog,
      stopGraceSeconds: 2,
    });
    started.agent = agent;
    const { nodeId } = await agent.registered;
    const browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox"] });
    started.browser = browser;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    return { plane, agent, nodeId, browser, page, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentConfig } from "../agent-config.js";
import { errorMessage } from "../agent-log.js";
import { AgentState, STATE_FILE } from "../agent-state.js";
import type { ProviderApi, ProviderNodeView } from "../provider-api.js";

/**
 * `meridian-agent status`: what this node is and how it stands, from two sources — the running
 * agent's state file (jobs, last verdicts) and the control plane's provider routes (listing,
 * verification, reputation, earnings). Whatever a source cannot give is said, not left out.
 */
export async function providerStatus(options: {
  dataDir: string;
  config: AgentConfig;
  publicKey: string;
  api: Pick<ProviderApi, "node" | "earnings" | "hasOwnerKey">;
  now: number;
}): Promise<string> {
  const { config, api } = options;
  const lines: string[] = [];
  lines.push(`node key        ${options.publicKey}`);
  lines.push(`control plane   ${config.controlPlane}`);
  lines.push(`node id         ${config.nodeId ?? "not registered yet (run: meridian-agent start)"}`);

  const local = await readState(options.dataDir);
  if (local === undefined) {
    lines.push("agent           no state file: the agent has not run from this data folder yet");
  } else {
    const age = Math.round((options.now - local.updatedAt) / 1000);
    lines.push(
      `agent           pid ${local.pid}, last update ${age} s ago${running(local.pid) ? "" : " (not running now)"}`,
    );
    lines.push(`region          ${local.region ?? config.region ?? "unknown"}`);
    lines.push(`taking work     ${local.acceptingWork === false ? "no (outside operating windows)" : "yes"}`);
    lines.push(`current jobs    ${local.running.length === 0 ? "none" : ""}`);
    for (const attempt of local.running)
      lines.push(`  ${attempt.jobId}  ${attempt.attemptId}  ${attempt.image}`);
    const verdicts = Object.entries(local.verification);
    lines.push(`last verdicts   ${verdicts.length === 0 ? "none yet" : ""}`);
    for (const [uuid, verdict] of verdicts) {
      const figures =
        verdict.tflops !== undefined
          ? ` ${verdict.tflops.toFixed(1)} TFLOP/s, ${verdict.bandwidthGBps?.toFixed(0)} GB/s`
          : "";
      lines.push(
        `  ${uuid} ${verdict.model}: ${verdict.outcome}${figures}${verdict.reasons.length ? ` (${verdict.reasons.join("; ")})` : ""}`,
      );
    }
  }

  if (!api.hasOwnerKey) {
    lines.push(
      "control plane   not asked: listing, reputation and earnings need your API key (ownerApiKey in config.json, or --owner-key)",
    );
    return lines.join("\n");
  }
  if (config.nodeId !== undefined) {
    try {
      lines.push(...describeNode(await api.node(config.nodeId)));
    } catch (error) {
      lines.push(`listing         unavailable: ${errorMessage(error)}`);
    }
  }
  try {
    const earnings = await api.earnings();
    lines.push(
      `earnings        $${earnings.total} from ${earnings.from.slice(0, 10)} to ${earnings.to.slice(0, 10)}`,
    );
    for (const node of earnings.nodes)
      lines.push(`  ${node.nodeId}: pending $${node.pending}, paid out $${node.settled}`);
  } catch (error) {
    lines.push(`earnings        unavailable: ${errorMessage(error)}`);
  }
  return lines.join("\n");
}

function describeNode(node: ProviderNodeView): string[] {
  const lines = [`listing         ${node.status ?? "status not reported"}`];
  const verification = node.verification;
  if (verification) {
    lines.push(`verification    ${verification.outcome ?? "not judged yet"}`);
    for (const [key, value] of Object.entries(verification.measured ?? {}))
      lines.push(`  ${key}: ${format(value)}`);
  } else {
    lines.push("verification    not reported");
  }
  const reputation = node.reputation;
  if (reputation) {
    lines.push(
      `reputation      ${typeof reputation.score === "number" ? reputation.score.toFixed(3) : "no score yet"}`,
    );
    for (const [key, value] of Object.entries(reputation.components ?? {}))
      lines.push(`  ${key}: ${format(value)}`);
  } else {
    lines.push("reputation      not reported");
  }
  return lines;
}

function format(value: unknown): string {
  if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(3);
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

async function readState(dataDir: string): Promise<AgentState | undefined> {
  try {
    const parsed = AgentState.safeParse(JSON.parse(await readFile(join(dataDir, STATE_FILE), "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

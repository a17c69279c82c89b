import type { Assignment, AttemptReport } from "../shared/agent-protocol.js";
import { signUsage, usageStatement } from "../shared/receipts/usage-statement.js";

/** The node key the agent signs with (its identity file's). */
export interface UsageSigner {
  secretKey: Uint8Array;
  publicKeyBase58: string;
}

/**
 * One attempt's usage receipt: it notes when the container started (the `started` report's time)
 * and signs, into the `exited` report, what the attempt used at its price with the node key, so the
 * region can countersign it on the charge receipt. An attempt taken up after a restart whose start
 * this process never saw gets no statement rather than a wrong one.
 */
export class UsageReceipt {
  private startedAt: number | null = null;

  constructor(
    private readonly assignment: Assignment,
    private readonly nodeId: string,
    private readonly signer: UsageSigner,
    private readonly adopted: boolean,
  ) {}

  /** The report to send: unchanged, or an `exited` report with the signed statement. */
  async stamp(report: AttemptReport): Promise<AttemptReport> {
    if (report.type === "started") this.startedAt = report.at;
    const price = this.assignment.pricePerGpuHourMicros;
    if (report.type !== "exited" || price === undefined || report.usage) return report;
    if (this.adopted && this.startedAt === null) return report;
    const statement = usageStatement({
      jobId: this.assignment.jobId,
      attemptId: this.assignment.attemptId,
      nodeId: this.nodeId,
      startedAt: this.startedAt,
      endedAt: report.at,
      gpus: this.assignment.gpuUuids.length,
      pricePerGpuHourMicros: price,
      cpuHourMicros: this.assignment.cpuHourMicros,
    });
    return {
      ...report,
      usage: await signUsage(statement, this.signer.secretKey, this.signer.publicKeyBase58),
    };
  }
}

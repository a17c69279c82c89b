import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AttemptRunner } from "../../src/agent/attempt-runner.js";
import { systemClock } from "../../src/agent/clock.js";
import { HostProcessRuntime } from "../../src/agent/host-process-runtime.js";
import type { AttemptReport, ReportResponse } from "../../src/shared/agent-protocol.js";
import { assignment } from "./fake-control-plane.js";

describe("an attempt's end", () => {
  it("is not abandoned by a poll that lists it as unknown while its exit is being reported", async () => {
    const runtime = new HostProcessRuntime({ workDir: await mkdtemp(join(tmpdir(), "meridian-runner-")) });
    const warnings: string[] = [];
    const reports: AttemptReport[] = [];
    let runner: AttemptRunner | undefined;
    const accepted: ReportResponse = { accepted: true, stop: false };
    runner = new AttemptRunner(assignment({ command: ["sh", "-c", "echo done"] }), {
      nodeId: "node_test",
      runtime,
      clock: systemClock,
      log: {
        info: () => {},
        warn: (message) => void warnings.push(message),
        error: (m) => void warnings.push(m),
      },
      report: async (_attemptId, body) => {
        reports.push(body);
        // The region took the exit; the held poll it answers next names the attempt unknown.
        if (body.type === "exited") runner?.abandon("unknown_attempt");
        return { ...accepted, stop: body.type === "exited" };
      },
    });
    await runner.done;
    expect(runner.phase).toBe("finished");
    expect(reports.at(-1)).toMatchObject({ type: "exited", exitCode: 0, reason: "completed" });
    expect(warnings).toEqual([]);
  });
});

import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type AgentHandle, startAgent } from "../../src/agent/agent.js";
import { silentLog } from "../../src/agent/agent-log.js";
import type { AttemptReport } from "../../src/shared/agent-protocol.js";
import { issueChallenge } from "../../src/shared/verification/challenge-lifecycle.js";
import { assignment, FakeControlPlane } from "./fake-control-plane.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/nvidia-smi");
const H100_UUID = "GPU-7e109102-2255-084b-6271-2c83c6960a41";

/** A stand-in nvidia-smi that answers detection with the real H100 report and metrics with the hand-made CSV. */
async function fakeNvidiaSmi(dir: string): Promise<string> {
  const path = join(dir, "nvidia-smi");
  await writeFile(
    path,
    [
      "#!/bin/sh",
      `if [ "$1" = "-q" ]; then cat '${FIXTURES}/h100-80gb-hbm3.xml'; exit 0; fi`,
      `case "$1" in --query-gpu=index,*) head -n 1 '${FIXTURES}/query-gpu-metrics.csv';; *) echo '${H100_UUID}, 9.0';; esac`,
      "",
    ].join("\n"),
  );
  await chmod(path, 0o755);
  return path;
}

/**
 * The provider side end to end against the fake control plane, on the host-process runtime (no
 * Docker needed) with the TypeScript CPU benchmark, so the whole challenge flow runs on this CPU.
 */
describe("provider agent", () => {
  let plane: FakeControlPlane;
  let agent: AgentHandle | undefined;
  let dataDir: string;

  const start = async (config: Record<string, unknown> = {}): Promise<AgentHandle> => {
    plane = new FakeControlPlane();
    const url = await plane.listen();
    dataDir = await mkdtemp(join(tmpdir(), "meridian-provider-"));
    await writeFile(
      join(dataDir, "config.json"),
      JSON.stringify({ controlPlane: url, runtime: "host", benchmarkMode: "typescript-cpu", ...config }),
      { mode: 0o600 },
    );
    agent = await startAgent({
      dataDir,
      log: silentLog,
      nvidiaSmi: await fakeNvidiaSmi(dataDir),
      sampleIntervalMs: 50,
      rttIntervalMs: 50,
      configDebounceMs: 20,
    });
    await agent.registered;
    return agent;
  };

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await plane.close();
  });

  it("answers a challenge: prepares, signed ready, commit, spot checks opened correctly, verdict recorded", async () => {
    await start({ payoutWallet: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin" });
    const register = plane.requests.find((request) => request.path === "/v1/agent/register");
    expect(register?.body).toMatchObject({
      runtime: "host",
      benchmark: { mode: "typescript-cpu" },
      payoutWallet: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
      hardware: { gpus: [{ uuid: H100_UUID, model: "H100-SXM" }] },
    });

    const record = issueChallenge({
      nodeId: plane.nodeId,
      gpu: { uuid: H100_UUID, model: "H100-SXM", vramMib: 81_559 },
      now: Date.now(),
      size: { n: 32, blocks: 2 },
      memory: { words: 1024 * 16, lanes: 32, segmentSteps: 8, segments: 2, groupLanes: 8, pageGroups: 2 },
    });
    plane.challenge(record);
    await plane.until(() => plane.judgements.length === 1);

    const paths = plane.requests.map((request) => request.path);
    const base = `/v1/agent/challenges/${record.challenge.id}`;
    // In protocol order: the memory seed is asked for only once prepared, the walk seed once
    // filled, the compute seed with the walk's root, then the commit, then the openings.
    expect(paths.filter((path) => path.startsWith(base))).toEqual([
      `${base}/ready`,
      `${base}/ready`,
      `${base}/ready`,
      `${base}/commit`,
      `${base}/answer`,
    ]);
    const readies = plane.requests.filter((request) => request.path === `${base}/ready`);
    expect(readies[0]?.body).toEqual({ challengeId: record.challenge.id });
    expect(readies[1]?.body).toEqual({ challengeId: record.challenge.id, filled: true });
    expect(readies[2]?.body).toMatchObject({ memory: { root: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(plane.requests.every((request) => request.signatureValid)).toBe(true);
    const [judgement] = plane.judgements;
    // Every opened row was right; a CPU is of course judged far too slow for an H100.
    expect(judgement?.checkedEntries).toBeGreaterThan(0);
    const codes = judgement?.reasons.map((reason) => reason.code) ?? [];
    for (const code of [
      "missing_opening",
      "malformed_row",
      "digest_mismatch",
      "proof_mismatch",
      "wrong_entry",
    ])
      expect(codes).not.toContain(code);
    expect(judgement?.outcome).toBe("rejected");

    await expect
      .poll(
        async () =>
          JSON.parse(await readFile(join(dataDir, "state.json"), "utf8")).verification?.[H100_UUID]?.outcome,
      )
      .toBe("rejected");
  });

  it("refuses an assignment whose image the host policy denies, with exitCode null", async () => {
    await start({ images: { deny: ["**/miner*"] } });
    const job = assignment({ image: "docker.io/evil/miner:1" });
    plane.assign(job);
    await plane.until(() => plane.reportsOf(job.attemptId).length > 0);
    const [report] = plane.reportsOf(job.attemptId);
    expect(report).toMatchObject({ type: "exited", exitCode: null, reason: "error" });
    expect((report as Extract<AttemptReport, { type: "exited" }>).message).toMatch(
      /host policy refused the image/,
    );
  });

  it("runs an allowed job as a host process", async () => {
    await start();
    const job = assignment({ command: ["sh", "-c", "echo from-host; exit 4"] });
    plane.assign(job);
    await plane.until(() => plane.reportsOf(job.attemptId).some((report) => report.type === "exited"));
    expect(plane.reportsOf(job.attemptId).at(-1)).toMatchObject({
      type: "exited",
      exitCode: 4,
      reason: "completed",
    });
  });

  it("drains outside its operating windows, and picks up a window change without restart", async () => {
    // A window that is never now: yesterday-to-today crossing is avoided by a one-minute window
    // on a day that is not today (in UTC).
    const notToday = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][(new Date().getUTCDay() + 3) % 7];
    await start({ timeZone: "UTC", windows: [{ days: [notToday], start: "03:00", end: "03:01" }] });
    const polls = () => plane.requests.filter((request) => request.path === "/v1/agent/poll");
    await plane.until(() => polls().length >= 2);
    expect(
      polls().every((request) => (request.body as { acceptingWork: boolean }).acceptingWork === false),
    ).toBe(true);

    const config = JSON.parse(await readFile(join(dataDir, "config.json"), "utf8"));
    delete config.windows;
    config.labels = { tier: "gold" };
    await writeFile(join(dataDir, "config.json"), JSON.stringify(config));
    await plane.until(() => JSON.stringify(polls().at(-1)?.body).includes('"acceptingWork":true'));
    // Labels changed too: the node registers again with them.
    await plane.until(() =>
      plane.requests.some(
        (request) =>
          request.path === "/v1/agent/register" && JSON.stringify(request.body).includes('"tier":"gold"'),
      ),
    );
  });

  it("sends metrics with a poll when they change and the measured RTT", async () => {
    await start();
    await plane.until(() =>
      plane.requests.some(
        (request) => request.path === "/v1/agent/poll" && JSON.stringify(request.body).includes('"metrics"'),
      ),
    );
    const withMetrics = plane.requests.find(
      (request) => request.path === "/v1/agent/poll" && JSON.stringify(request.body).includes('"metrics"'),
    );
    expect(withMetrics?.body).toMatchObject({
      metrics: {
        gpus: [{ index: 0, utilizationPct: 87, temperatureC: 71 }],
        host: { cpuPct: expect.any(Number) },
      },
    });
    await plane.until(() =>
      plane.requests.some(
        (request) => request.path === "/v1/agent/poll" && JSON.stringify(request.body).includes('"rttMs"'),
      ),
    );
    expect(plane.gets).toContain("/v1/health");
  });

  it("refuses to start when the config names a GPU the host lacks", async () => {
    plane = new FakeControlPlane();
    const url = await plane.listen();
    const dir = await mkdtemp(join(tmpdir(), "meridian-provider-"));
    await writeFile(
      join(dir, "config.json"),
      JSON.stringify({ controlPlane: url, runtime: "host", gpus: [3] }),
    );
    await expect(
      startAgent({ dataDir: dir, log: silentLog, nvidiaSmi: await fakeNvidiaSmi(dir) }),
    ).rejects.toThrow(/no GPU 3/);
  });
});

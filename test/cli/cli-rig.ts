/** The CLI command tests' rig: a fake API, a temporary HOME and config file, and `cli` to run a command. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { JobView } from "../../src/shared/api.js";
import { type CliRun, captureCli } from "../support/cli-capture.js";
import { FakeApi } from "./fake-api.js";

export const JOB: JobView = {
  id: "job_01",
  name: "hello",
  status: "running",
  reason: null,
  region: "eu-west",
  image: "meridian/busybox:test",
  nodeId: "node_01",
  attemptId: "att_01",
  attempts: 1,
  exitCode: null,
  createdAt: "2026-04-01T12:00:00.123Z",
  assignedAt: "2026-04-01T12:00:01.000Z",
  startedAt: "2026-04-01T12:00:02.000Z",
  endedAt: null,
  spec: { command: ["sh", "-c", "echo hi"], resources: { gpus: 0 } },
  cost: { charged: "0.00", chargedMicros: 0, held: "0.00", heldMicros: 0 },
};

export interface CliRig {
  api: FakeApi;
  dir: string;
  /** A fresh config file for each test, holding the saved key "mk_saved". */
  configFile: string;
  /** Called with the output so far each time the CLI writes to stdout; reset before each test. */
  onStdout: (soFar: string) => void;
  cli(args: readonly string[], env?: Record<string, string>): Promise<Omit<CliRun, "writes">>;
}

/** Registers the rig's hooks in the calling test file and returns it (its fields are set once they run). */
export function cliRigForThisFile(): CliRig {
  const rig: CliRig = {
    api: undefined as unknown as FakeApi,
    dir: "",
    configFile: "",
    onStdout: () => {},
    async cli(args, env = {}) {
      const { status, stdout, stderr } = await captureCli(
        args,
        { HOME: rig.dir, MERIDIAN_CONFIG: rig.configFile, MERIDIAN_API_URL: rig.api.url, ...env },
        (soFar) => rig.onStdout(soFar),
      );
      return { status, stdout, stderr };
    },
  };
  beforeAll(async () => {
    rig.api = await FakeApi.start();
    rig.dir = await mkdtemp(join(tmpdir(), "meridian-cli-commands-"));
  });
  afterAll(async () => {
    await rig.api.close();
    await rm(rig.dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    rig.api.reset();
    rig.onStdout = () => {};
    rig.configFile = join(rig.dir, `config-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(rig.configFile, JSON.stringify({ apiKey: "mk_saved" }));
  });
  return rig;
}

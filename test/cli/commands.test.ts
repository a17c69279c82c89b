import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { JobView } from "../../src/shared/api.js";
import { FakeApi } from "./fake-api.js";

const JOB: JobView = {
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

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

let api: FakeApi;
let dir: string;
let configFile: string;
/** Called with the output so far each time the CLI writes to stdout. */
let onStdout: (soFar: string) => void = () => {};

async function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const status = await runCli(args, {
    stdout: (text) => {
      stdout += text;
      onStdout(stdout);
    },
    stderr: (text) => {
      stderr += text;
    },
    env: { HOME: dir, MERIDIAN_CONFIG: configFile, MERIDIAN_API_URL: api.url, ...env },
    fetch: globalThis.fetch,
  });
  return { status, stdout, stderr };
}

beforeAll(async () => {
  api = await FakeApi.start();
  dir = await mkdtemp(join(tmpdir(), "meridian-cli-commands-"));
});
afterAll(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  api.reset();
  onStdout = () => {};
  configFile = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(configFile, JSON.stringify({ apiKey: "mk_saved" }));
});

describe("signup", () => {
  it("creates an account without auth, saves the URL and key, and later commands use them", async () => {
    await rm(configFile);
    api.json("POST /v1/accounts", 201, { id: "acct_01", apiKey: "mk_new" });
    const signup = await cli(["signup", "--name", "alice"]);
    expect(signup).toMatchObject({ status: 0, stderr: "" });
    expect(signup.stdout).toContain("account:  acct_01");
    expect(signup.stdout).toContain("api key:  mk_new");
    expect(api.requests[0]).toMatchObject({ authorization: undefined, body: '{"name":"alice"}' });
    expect(JSON.parse(await readFile(configFile, "utf8"))).toEqual({ apiUrl: api.url, apiKey: "mk_new" });

    api.json("GET /v1/nodes", 200, { nodes: [] });
    // The saved URL is used once the environment no longer names one.
    const nodes = await cli(["nodes"], { MERIDIAN_API_URL: "" });
    expect(nodes).toMatchObject({ status: 0, stdout: "No nodes.\n" });
    expect(api.requests[1]?.authorization).toBe("Bearer mk_new");
  });

  it("warns when it replaces a saved key", async () => {
    api.json("POST /v1/accounts", 201, { id: "acct_02", apiKey: "mk_other" });
    const run = await cli(["--json", "signup"]);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ id: "acct_02", apiKey: "mk_other" });
    expect(run.stderr).toContain("replaced the API key previously saved");
  });
});

describe("jobs", () => {
  it("submits a YAML spec with flag overrides, sending the spec as written", async () => {
    const specFile = join(dir, "hello.yaml");
    await writeFile(specFile, "name: hello\nimage: meridian/busybox:test\nmaxPricePerGpuHour: '0.50'\n");
    api.json("POST /v1/jobs", 201, { ...JOB, status: "queued", nodeId: null });
    const run = await cli(["jobs", "submit", specFile, "--env", "A=1", "--", "sh", "-c", "echo hi"]);
    expect(run).toMatchObject({ status: 0, stderr: "" });
    expect(run.stdout).toMatch(/^id: +job_01$/m);
    expect(run.stdout).toMatch(/^status: +queued$/m);
    expect(run.stdout).toContain("jobs logs job_01 -f");
    const [request] = api.requests;
    expect(request).toMatchObject({ authorization: "Bearer mk_saved", contentType: "application/json" });
    expect(JSON.parse(request?.body ?? "")).toEqual({
      name: "hello",
      image: "meridian/busybox:test",
      maxPricePerGpuHour: "0.50",
      command: ["sh", "-c", "echo hi"],
      env: { A: "1" },
    });
  });

  it("refuses an invalid spec before sending anything", async () => {
    const run = await cli([
      "jobs",
      "submit",
      "--name",
      "x",
      "--image",
      "meridian/busybox:test",
      "--gpus",
      "99",
    ]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /^error invalid_spec: invalid job spec \(command line\):\n {2}resources\.gpus \(--gpus\): /,
    );
    expect(api.requests).toEqual([]);
  });

  it("lists jobs as a table, filtered by status, with the next page's cursor", async () => {
    api.json("GET /v1/jobs?status=running&limit=5", 200, { jobs: [JOB], nextCursor: "c2" });
    const run = await cli(["jobs", "list", "--status", "running", "--limit", "5"]);
    expect(run.status).toBe(0);
    expect(run.stdout.split("\n")).toEqual([
      "ID      NAME   STATUS   REGION   NODE     ATTEMPTS  CREATED",
      "job_01  hello  running  eu-west  node_01  1         2026-04-01T12:00:00Z",
      "",
      "more: meridian jobs list --cursor c2",
      "",
    ]);
  });

  it("shows one job as key: value lines, or the raw JSON with --json", async () => {
    const raw = { ...JOB, futureField: 42 };
    api.json("GET /v1/jobs/job_01", 200, raw);
    const readable = await cli(["jobs", "get", "job_01"]);
    expect(readable.stdout).toMatch(/^command: +sh -c "echo hi"$/m);
    expect(readable.stdout).toMatch(/^exit code: +-$/m);
    const json = await cli(["jobs", "get", "job_01", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual(raw);
  });

  it("cancels a job and shows its events", async () => {
    api.json("POST /v1/jobs/job_01/cancel", 200, { ...JOB, status: "cancelled" });
    api.json("GET /v1/jobs/job_01/events", 200, {
      events: [
        {
          seq: 1,
          status: "queued",
          reason: null,
          at: "2026-04-01T12:00:00.000Z",
          attemptId: null,
          nodeId: null,
        },
        {
          seq: 2,
          status: "cancelled",
          reason: "cancelled by user",
          at: "2026-04-01T12:00:05.000Z",
          attemptId: "att_01",
          nodeId: "node_01",
        },
      ],
    });
    const cancel = await cli(["jobs", "cancel", "job_01"]);
    expect(cancel).toMatchObject({ status: 0, stdout: "id:     job_01\nstatus: cancelled\n" });
    const events = await cli(["jobs", "events", "job_01"]);
    expect(events.stdout.split("\n")).toEqual([
      "SEQ  AT                    STATUS     REASON             NODE     ATTEMPT",
      "1    2026-04-01T12:00:00Z  queued     -                  -        -",
      "2    2026-04-01T12:00:05Z  cancelled  cancelled by user  node_01  att_01",
      "",
    ]);
  });

  it("pauses a job for a while and resumes it", async () => {
    api.json("POST /v1/jobs/job_01/pause", 202, {
      ...JOB,
      reason: "pausing: the container was sent SIGTERM",
    });
    api.json("POST /v1/jobs/job_01/resume", 200, { ...JOB, status: "queued", reason: "resumed by the user" });
    const paused = await cli(["jobs", "pause", "job_01", "--keep", "3d"]);
    expect(paused).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/^status: running\nreason: pausing/m),
    });
    expect(JSON.parse(api.requests.at(-1)?.body ?? "{}")).toEqual({ keepForSeconds: 3 * 86_400 });
    const resumed = await cli(["jobs", "resume", "job_01"]);
    expect(resumed.stdout).toMatch(/^status: queued$/m);
    const bad = await cli(["jobs", "pause", "job_01", "--keep", "soon"]);
    expect(bad).toMatchObject({ status: 2, stderr: expect.stringMatching(/--keep takes a duration/) });
  });

  it("lists a job's outputs with their expiry", async () => {
    const file = {
      size: 1000,
      sha256: "ab".repeat(32),
      cid: null,
      attemptId: "att_01",
      downloadUrl: "http://localhost/x",
      createdAt: "2026-04-01T12:00:00.000Z",
    };
    api.json("GET /v1/jobs/job_01/outputs", 200, {
      outputs: [
        {
          ...file,
          path: "/outputs/model.bin",
          location: "r2://accounts/acct_01/jobs/job_01/outputs/model.bin",
          expiresAt: "2026-05-01T12:00:00.000Z",
        },
        { ...file, path: "/results/x.csv", location: "s3://mine/results/x.csv", expiresAt: null },
      ],
    });
    const listed = await cli(["jobs", "outputs", "job_01"]);
    expect(listed.status).toBe(0);
    expect(listed.stdout.split("\n")[0]).toMatch(/^PATH\s+SIZE\s+SHA256\s+LOCATION\s+EXPIRES$/);
    expect(listed.stdout).toMatch(
      /\/outputs\/model\.bin\s+1000\s+abababababab\s+r2:\S+\s+2026-05-01T12:00:00Z/,
    );
    expect(listed.stdout).toMatch(
      /\/results\/x\.csv\s+1000\s+abababababab\s+s3:\/\/mine\/results\/x\.csv\s+kept by you/,
    );
    const missing = await cli(["jobs", "outputs"]);
    expect(missing.status).toBe(2);
  });

  it("deletes a job's outputs, all or one by path", async () => {
    api.json("DELETE /v1/jobs/job_01/outputs?path=%2Foutputs%2Fmodel.bin", 200, {
      jobId: "job_01",
      files: 1,
      bytes: 1000,
      objects: 1,
      keptInYourBucket: 0,
      chargedMicros: 7,
    });
    const deleted = await cli(["jobs", "delete-outputs", "job_01", "--path", "/outputs/model.bin"]);
    expect(deleted).toMatchObject({ status: 0, stdout: "deleted: 1 files, 1000 bytes\ncharged: 7 µUSD\n" });
    expect(api.requests.at(-1)?.url).toBe("/v1/jobs/job_01/outputs?path=%2Foutputs%2Fmodel.bin");
    const missing = await cli(["jobs", "delete-outputs"]);
    expect(missing.status).toBe(2);
  });

  it("prints logs, and with -f writes each chunk as it arrives", async () => {
    api.on("GET /v1/jobs/job_01/logs", (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("all\nthe logs\n");
    });
    expect(await cli(["jobs", "logs", "job_01"])).toMatchObject({ status: 0, stdout: "all\nthe logs\n" });

    let sawFirst: () => void = () => {};
    const firstShown = new Promise<void>((resolve) => {
      sawFirst = resolve;
    });
    onStdout = (soFar) => {
      if (soFar.includes("line 1")) sawFirst();
    };
    let finished = false;
    api.on("GET /v1/jobs/job_01", (_request, response) => {
      const body = finished ? { ...JOB, status: "succeeded", exitCode: 0 } : JOB;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
    api.on("GET /v1/jobs/job_01/logs?follow=1", async (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.write("line 1\n");
      // The second line is only sent once the CLI has printed the first: proof it streams.
      await firstShown;
      finished = true;
      response.end("line 2\n");
    });
    expect(await cli(["jobs", "logs", "job_01", "-f"])).toMatchObject({
      status: 0,
      stdout: "line 1\nline 2\n",
      stderr: "[meridian] job_01 succeeded (exit code 0)\n",
    });
  });

  it("ends -f with the final state and reason, exit 1, for a job that did not succeed", async () => {
    let calls = 0;
    api.on("GET /v1/jobs/job_01", (_request, response) => {
      calls++;
      const body =
        calls === 1
          ? { ...JOB, status: "queued", reason: "no node in reach has a GPU" }
          : { ...JOB, status: "failed", reason: "timed out after 60 s", exitCode: 137 };
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
    api.on("GET /v1/jobs/job_01/logs?follow=1", (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("partial\n");
    });
    const run = await cli(["jobs", "logs", "job_01", "-f"]);
    expect(run).toMatchObject({ status: 1, stdout: "partial\n" });
    expect(run.stderr).toContain("[meridian] job_01 is queued: no node in reach has a GPU");
    expect(run.stderr).toContain(
      "error job_failed: job_01 ended failed: timed out after 60 s (exit code 137)",
    );
  });

  it("resumes a follow the server ended early, without printing anything twice", async () => {
    let calls = 0;
    api.on("GET /v1/jobs/job_01", (_request, response) => {
      calls++;
      const body = calls < 3 ? JOB : { ...JOB, status: "succeeded", exitCode: 0 };
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
    let streams = 0;
    api.on("GET /v1/jobs/job_01/logs?follow=1", (_request, response) => {
      streams++;
      response.writeHead(200, { "content-type": "text/plain" });
      response.end(streams === 1 ? "a\n" : "a\nb\n");
    });
    expect(await cli(["jobs", "logs", "job_01", "-f"])).toMatchObject({ status: 0, stdout: "a\nb\n" });
  });

  it("says an API URL without a scheme needs one, rather than blaming a stopped control plane", async () => {
    const run = await cli(["nodes", "--api-url", "127.0.0.1:8791"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("needs a scheme: http://127.0.0.1:8791");
  });

  it("shows what a 402 needed and had, and how to add credit", async () => {
    api.json("POST /v1/jobs", 402, {
      error: {
        code: "insufficient_funds",
        message: "the balance cannot cover this amount",
        details: { needed: "7.20", neededMicros: 7200000, available: "5.00", availableMicros: 5000000 },
      },
    });
    const run = await cli(["jobs", "submit", "--name", "x", "--image", "meridian/busybox:test"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("needed $7.20, available $5.00");
    expect(run.stderr).toContain("add credit");
  });
});

describe("nodes", () => {
  it("lists nodes with their GPUs grouped by kind", async () => {
    api.json("GET /v1/nodes", 200, {
      nodes: [
        {
          id: "node_01",
          region: "eu-west",
          status: "online",
          gpus: [
            {
              index: 0,
              model: "H100-SXM",
              claimedModel: "H100-SXM",
              name: "NVIDIA H100 80GB HBM3",
              vramGb: 80,
            },
            {
              index: 1,
              model: "H100-SXM",
              claimedModel: "H100-SXM",
              name: "NVIDIA H100 80GB HBM3",
              vramGb: 80,
            },
          ],
          freeGpus: 1,
          cpus: 32,
          memoryGb: 256,
          pricePerGpuHour: "2.10",
          site: "lab-1",
          verification: "verified",
          assurance: "timing",
          verifiedTflops: 790.5,
          pricePerVerifiedTflopHour: "0.002656",
          reputation: 0.91,
          stakeTier: "silver",
          labels: { tier: "a" },
        },
        {
          id: "node_02",
          region: "us-east",
          status: "offline",
          gpus: [],
          freeGpus: 0,
          cpus: 4,
          memoryGb: 8,
          pricePerGpuHour: "0.00",
          site: null,
          verification: "not_required",
          assurance: null,
          verifiedTflops: null,
          pricePerVerifiedTflopHour: null,
          reputation: 0.5,
          stakeTier: "none",
          labels: {},
        },
      ],
    });
    const run = await cli(["nodes"]);
    expect(run.stdout.split("\n")).toEqual([
      "ID       REGION   STATUS   GPUS              FREE  CPUS  MEMORY  $/GPU-HOUR  VERIFIED       REPUTATION  STAKE   LABELS",
      "node_01  eu-west  online   2x H100-SXM 80GB  1     32    256 GB  2.10        790.5 TFLOP/s  0.91        silver  tier=a",
      "node_02  us-east  offline  none              0     4     8 GB    0.00        not_required   0.50        none    -",
      "",
    ]);
  });
});

describe("errors", () => {
  it("prints an API error envelope as `error <code>: <message>` and exits 1", async () => {
    const run = await cli(["jobs", "get", "job_missing"]);
    expect(run).toEqual({
      status: 1,
      stdout: "",
      stderr: "error not_found: no route GET /v1/jobs/job_missing\n",
    });
  });

  it("reports a non-JSON failure by its HTTP status", async () => {
    api.on("GET /v1/nodes", (_request, response) => {
      response.writeHead(502, { "content-type": "text/html" });
      response.end("<h1>Bad gateway</h1>");
    });
    expect((await cli(["nodes"])).stderr).toBe("error http_502: <h1>Bad gateway</h1>\n");
  });

  it("refuses a response that does not match the contract", async () => {
    api.json("GET /v1/jobs/job_01", 200, { id: "job_01" });
    const run = await cli(["jobs", "get", "job_01"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^error bad_response: GET \/v1\/jobs\/job_01 answered a body/);
  });

  it("says so when the control plane cannot be reached", async () => {
    const closed = await FakeApi.start();
    const url = closed.url;
    await closed.close();
    const run = await cli(["nodes"], { MERIDIAN_API_URL: url });
    expect(run).toMatchObject({ status: 1, stdout: "" });
    expect(run.stderr).toBe(
      `error unreachable: cannot reach ${url} (ECONNREFUSED)\n  is the control plane running at ${url}? start it with: npm start\n`,
    );
  });

  it("asks for a key when none is configured", async () => {
    await rm(configFile);
    const run = await cli(["nodes"]);
    expect(run).toMatchObject({ status: 1, stderr: expect.stringMatching(/^error no_api_key: /) });
    expect(api.requests).toEqual([]);
  });

  it("exits 2 with help on usage errors", async () => {
    const cases: [string[], RegExp][] = [
      [[], /^Usage: meridian <command>/],
      [["launch"], /^error: unknown command "launch"\n\nUsage: meridian <command>/],
      [
        ["jobs"],
        /^error: "jobs" needs one of: submit, list, get, logs, cancel, events, pause, resume, outputs, delete-outputs\n\nUsage: meridian <command>/,
      ],
      [["jobs", "launch"], /^error: "jobs launch" needs one of: submit, /],
      [
        ["jobs", "list", "--gpus", "1"],
        /^error: "jobs list" does not take --gpus\n\nUsage: meridian jobs list/,
      ],
      [["jobs", "get"], /^error: "jobs get" needs 1 argument\n\nUsage: meridian jobs get <job-id>/],
      [["jobs", "get", "a", "b"], /^error: "jobs get" takes at most 1 argument/],
      [["jobs", "list", "--status", "sleeping"], /^error: --status must be one of queued, /],
      [["jobs", "submit", "--gpus", "lots"], /^error: --gpus must be a number, got "lots"/],
      [["nodes", "--", "x"], /^error: "nodes" takes nothing after --/],
      [["nodes", "--bogus"], /^error: Unknown option '--bogus'/],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(args);
      expect({ args, status: run.status, stdout: run.stdout }).toEqual({ args, status: 2, stdout: "" });
      expect(run.stderr).toMatch(stderr);
    }
    expect(api.requests).toEqual([]);
  });

  it("prints help to stdout and exits 0 when asked", async () => {
    const overview = await cli(["--help"]);
    expect(overview).toMatchObject({ status: 0, stderr: "" });
    expect(overview.stdout).toMatch(/jobs submit\s+submit a job/);
    expect(overview.stdout).toMatch(/endpoints create\s+create an inference endpoint/);
    expect(overview.stdout).toMatch(/chat\s+send a prompt to an endpoint/);
    expect((await cli(["jobs", "submit", "-h"])).stdout).toContain("--gpu-model <id>");
  });
});

import { readFile, rm } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { cliRigForThisFile } from "./cli-rig.js";
import { FakeApi } from "./fake-api.js";

const rig = cliRigForThisFile();

describe("signup", () => {
  it("creates an account without auth, saves the URL and key, and later commands use them", async () => {
    await rm(rig.configFile);
    rig.api.json("POST /v1/accounts", 201, { id: "acct_01", apiKey: "mk_new" });
    const signup = await rig.cli(["signup", "--name", "alice"]);
    expect(signup).toMatchObject({ status: 0, stderr: "" });
    expect(signup.stdout).toContain("account:  acct_01");
    expect(signup.stdout).toContain("api key:  mk_new");
    expect(rig.api.requests[0]).toMatchObject({ authorization: undefined, body: '{"name":"alice"}' });
    expect(JSON.parse(await readFile(rig.configFile, "utf8"))).toEqual({
      apiUrl: rig.api.url,
      apiKey: "mk_new",
    });

    rig.api.json("GET /v1/nodes", 200, { nodes: [] });
    // The saved URL is used once the environment no longer names one.
    const nodes = await rig.cli(["nodes"], { MERIDIAN_API_URL: "" });
    expect(nodes).toMatchObject({ status: 0, stdout: "No nodes.\n" });
    expect(rig.api.requests[1]?.authorization).toBe("Bearer mk_new");
  });

  it("warns when it replaces a saved key", async () => {
    rig.api.json("POST /v1/accounts", 201, { id: "acct_02", apiKey: "mk_other" });
    const run = await rig.cli(["--json", "signup"]);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ id: "acct_02", apiKey: "mk_other" });
    expect(run.stderr).toContain("replaced the API key previously saved");
  });
});

describe("nodes", () => {
  it("lists nodes with their GPUs grouped by kind", async () => {
    rig.api.json("GET /v1/nodes", 200, {
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
    const run = await rig.cli(["nodes"]);
    expect(run.stdout.split("\n")).toEqual([
      "ID       REGION   STATUS   GPUS              FREE  CPUS  MEMORY  $/GPU-HOUR  VERIFIED       REPUTATION  STAKE   LABELS",
      "node_01  eu-west  online   2x H100-SXM 80GB  1     32    256 GB  2.10        790.5 TFLOP/s  0.91        silver  tier=a",
      "node_02  us-east  offline  none              0     4     8 GB    0.00        not_required   0.50        none    -",
      "CPUS and MEMORY: as each provider reported them; the region verifies GPUs, not hosts.",
      "",
    ]);
  });
});

describe("errors", () => {
  it("prints an API error envelope as `error <code>: <message>` and exits 1", async () => {
    const run = await rig.cli(["jobs", "get", "job_missing"]);
    expect(run).toEqual({
      status: 1,
      stdout: "",
      stderr: "error not_found: no route GET /v1/jobs/job_missing\n",
    });
  });

  it("reports a non-JSON failure by its HTTP status", async () => {
    rig.api.on("GET /v1/nodes", (_request, response) => {
      response.writeHead(502, { "content-type": "text/html" });
      response.end("<h1>Bad gateway</h1>");
    });
    expect((await rig.cli(["nodes"])).stderr).toBe("error http_502: <h1>Bad gateway</h1>\n");
  });

  it("refuses a response that does not match the contract", async () => {
    rig.api.json("GET /v1/jobs/job_01", 200, { id: "job_01" });
    const run = await rig.cli(["jobs", "get", "job_01"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^error bad_response: GET \/v1\/jobs\/job_01 answered a body/);
  });

  it("says so when the control plane cannot be reached", async () => {
    const closed = await FakeApi.start();
    const url = closed.url;
    await closed.close();
    const run = await rig.cli(["nodes"], { MERIDIAN_API_URL: url });
    expect(run).toMatchObject({ status: 1, stdout: "" });
    expect(run.stderr).toBe(
      `error unreachable: cannot reach ${url} (ECONNREFUSED)\n  is the control plane running at ${url}? start it with: npm start\n`,
    );
  });

  it("asks for a key when none is configured", async () => {
    await rm(rig.configFile);
    const run = await rig.cli(["nodes"]);
    expect(run).toMatchObject({ status: 1, stderr: expect.stringMatching(/^error no_api_key: /) });
    expect(rig.api.requests).toEqual([]);
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
      const run = await rig.cli(args);
      expect({ args, status: run.status, stdout: run.stdout }).toEqual({ args, status: 2, stdout: "" });
      expect(run.stderr).toMatch(stderr);
    }
    expect(rig.api.requests).toEqual([]);
  });

  it("prints help to stdout and exits 0 when asked", async () => {
    const overview = await rig.cli(["--help"]);
    expect(overview).toMatchObject({ status: 0, stderr: "" });
    expect(overview.stdout).toMatch(/jobs submit\s+submit a job/);
    expect(overview.stdout).toMatch(/endpoints create\s+create an inference endpoint/);
    expect(overview.stdout).toMatch(/chat\s+send a prompt to an endpoint/);
    expect((await rig.cli(["jobs", "submit", "-h"])).stdout).toContain("--gpu-model <id>");
  });
});

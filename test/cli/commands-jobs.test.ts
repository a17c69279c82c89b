import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliRigForThisFile, JOB } from "./cli-rig.js";

const rig = cliRigForThisFile();

describe("jobs", () => {
  it("submits a YAML spec with flag overrides, sending the spec as written", async () => {
    const specFile = join(rig.dir, "hello.yaml");
    await writeFile(specFile, "name: hello\nimage: meridian/busybox:test\nmaxPricePerGpuHour: '0.50'\n");
    rig.api.json("POST /v1/jobs", 201, { ...JOB, status: "queued", nodeId: null });
    const run = await rig.cli(["jobs", "submit", specFile, "--env", "A=1", "--", "sh", "-c", "echo hi"]);
    expect(run).toMatchObject({ status: 0, stderr: "" });
    expect(run.stdout).toMatch(/^id: +job_01$/m);
    expect(run.stdout).toMatch(/^status: +queued$/m);
    expect(run.stdout).toContain("jobs logs job_01 -f");
    const [request] = rig.api.requests;
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
    const run = await rig.cli([
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
    expect(rig.api.requests).toEqual([]);
  });

  it("lists jobs as a table, filtered by status, with the next page's cursor", async () => {
    rig.api.json("GET /v1/jobs?status=running&limit=5", 200, { jobs: [JOB], nextCursor: "c2" });
    const run = await rig.cli(["jobs", "list", "--status", "running", "--limit", "5"]);
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
    rig.api.json("GET /v1/jobs/job_01", 200, raw);
    const readable = await rig.cli(["jobs", "get", "job_01"]);
    expect(readable.stdout).toMatch(/^command: +sh -c "echo hi"$/m);
    expect(readable.stdout).toMatch(/^exit code: +-$/m);
    const json = await rig.cli(["jobs", "get", "job_01", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual(raw);
  });

  it("cancels a job and shows its events", async () => {
    rig.api.json("POST /v1/jobs/job_01/cancel", 200, { ...JOB, status: "cancelled" });
    rig.api.json("GET /v1/jobs/job_01/events", 200, {
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
    const cancel = await rig.cli(["jobs", "cancel", "job_01"]);
    expect(cancel).toMatchObject({ status: 0, stdout: "id:     job_01\nstatus: cancelled\n" });
    const events = await rig.cli(["jobs", "events", "job_01"]);
    expect(events.stdout.split("\n")).toEqual([
      "SEQ  AT                    STATUS     REASON             NODE     ATTEMPT",
      "1    2026-04-01T12:00:00Z  queued     -                  -        -",
      "2    2026-04-01T12:00:05Z  cancelled  cancelled by user  node_01  att_01",
      "",
    ]);
  });

  it("pauses a job for a while and resumes it", async () => {
    rig.api.json("POST /v1/jobs/job_01/pause", 202, {
      ...JOB,
      reason: "pausing: the container was sent SIGTERM",
    });
    rig.api.json("POST /v1/jobs/job_01/resume", 200, {
      ...JOB,
      status: "queued",
      reason: "resumed by the user",
    });
    const paused = await rig.cli(["jobs", "pause", "job_01", "--keep", "3d"]);
    expect(paused).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/^status: running\nreason: pausing/m),
    });
    expect(JSON.parse(rig.api.requests.at(-1)?.body ?? "{}")).toEqual({ keepForSeconds: 3 * 86_400 });
    const resumed = await rig.cli(["jobs", "resume", "job_01"]);
    expect(resumed.stdout).toMatch(/^status: queued$/m);
    const bad = await rig.cli(["jobs", "pause", "job_01", "--keep", "soon"]);
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
    rig.api.json("GET /v1/jobs/job_01/outputs", 200, {
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
    const listed = await rig.cli(["jobs", "outputs", "job_01"]);
    expect(listed.status).toBe(0);
    expect(listed.stdout.split("\n")[0]).toMatch(/^PATH\s+SIZE\s+SHA256\s+LOCATION\s+EXPIRES$/);
    expect(listed.stdout).toMatch(
      /\/outputs\/model\.bin\s+1000\s+abababababab\s+r2:\S+\s+2026-05-01T12:00:00Z/,
    );
    expect(listed.stdout).toMatch(
      /\/results\/x\.csv\s+1000\s+abababababab\s+s3:\/\/mine\/results\/x\.csv\s+kept by you/,
    );
    const missing = await rig.cli(["jobs", "outputs"]);
    expect(missing.status).toBe(2);
  });

  it("deletes a job's outputs, all or one by path", async () => {
    rig.api.json("DELETE /v1/jobs/job_01/outputs?path=%2Foutputs%2Fmodel.bin", 200, {
      jobId: "job_01",
      files: 1,
      bytes: 1000,
      objects: 1,
      keptInYourBucket: 0,
      chargedMicros: 7,
    });
    const deleted = await rig.cli(["jobs", "delete-outputs", "job_01", "--path", "/outputs/model.bin"]);
    expect(deleted).toMatchObject({ status: 0, stdout: "deleted: 1 files, 1000 bytes\ncharged: 7 µUSD\n" });
    expect(rig.api.requests.at(-1)?.url).toBe("/v1/jobs/job_01/outputs?path=%2Foutputs%2Fmodel.bin");
    const missing = await rig.cli(["jobs", "delete-outputs"]);
    expect(missing.status).toBe(2);
  });

  it("prints logs, and with -f writes each chunk as it arrives", async () => {
    rig.api.on("GET /v1/jobs/job_01/logs", (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("all\nthe logs\n");
    });
    expect(await rig.cli(["jobs", "logs", "job_01"])).toMatchObject({ status: 0, stdout: "all\nthe logs\n" });

    let sawFirst: () => void = () => {};
    const firstShown = new Promise<void>((resolve) => {
      sawFirst = resolve;
    });
    rig.onStdout = (soFar) => {
      if (soFar.includes("line 1")) sawFirst();
    };
    let finished = false;
    rig.api.on("GET /v1/jobs/job_01", (_request, response) => {
      const body = finished ? { ...JOB, status: "succeeded", exitCode: 0 } : JOB;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
    rig.api.on("GET /v1/jobs/job_01/logs?follow=1", async (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.write("line 1\n");
      // The second line is only sent once the CLI has printed the first: proof it streams.
      await firstShown;
      finished = true;
      response.end("line 2\n");
    });
    expect(await rig.cli(["jobs", "logs", "job_01", "-f"])).toMatchObject({
      status: 0,
      stdout: "line 1\nline 2\n",
      stderr: "[meridian] job_01 succeeded (exit code 0)\n",
    });
  });

  it("ends -f with the final state and reason, exit 1, for a job that did not succeed", async () => {
    let calls = 0;
    rig.api.on("GET /v1/jobs/job_01", (_request, response) => {
      calls++;
      const body =
        calls === 1
          ? { ...JOB, status: "queued", reason: "no node in reach has a GPU" }
          : { ...JOB, status: "failed", reason: "timed out after 60 s", exitCode: 137 };
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
    rig.api.on("GET /v1/jobs/job_01/logs?follow=1", (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("partial\n");
    });
    const run = await rig.cli(["jobs", "logs", "job_01", "-f"]);
    expect(run).toMatchObject({ status: 1, stdout: "partial\n" });
    expect(run.stderr).toContain("[meridian] job_01 is queued: no node in reach has a GPU");
    expect(run.stderr).toContain(
      "error job_failed: job_01 ended failed: timed out after 60 s (exit code 137)",
    );
  });

  it("resumes a follow the server ended early, without printing anything twice", async () => {
    let calls = 0;
    rig.api.on("GET /v1/jobs/job_01", (_request, response) => {
      calls++;
      const body = calls < 3 ? JOB : { ...JOB, status: "succeeded", exitCode: 0 };
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
    let streams = 0;
    rig.api.on("GET /v1/jobs/job_01/logs?follow=1", (_request, response) => {
      streams++;
      response.writeHead(200, { "content-type": "text/plain" });
      response.end(streams === 1 ? "a\n" : "a\nb\n");
    });
    expect(await rig.cli(["jobs", "logs", "job_01", "-f"])).toMatchObject({ status: 0, stdout: "a\nb\n" });
  });

  it("says an API URL without a scheme needs one, rather than blaming a stopped control plane", async () => {
    const run = await rig.cli(["nodes", "--api-url", "127.0.0.1:8791"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("needs a scheme: http://127.0.0.1:8791");
  });

  it("shows what a 402 needed and had, and how to add credit", async () => {
    rig.api.json("POST /v1/jobs", 402, {
      error: {
        code: "insufficient_funds",
        message: "the balance cannot cover this amount",
        details: { needed: "7.20", neededMicros: 7200000, available: "5.00", availableMicros: 5000000 },
      },
    });
    const run = await rig.cli(["jobs", "submit", "--name", "x", "--image", "meridian/busybox:test"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("needed $7.20, available $5.00");
    expect(run.stderr).toContain("add credit");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { silentLog } from "../../src/agent/agent-log.js";
import { AttemptRunner } from "../../src/agent/attempt-runner.js";
import { systemClock } from "../../src/agent/clock.js";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import { type ReplicaHosting, replicaHosting } from "../../src/agent/replica-hosting.js";
import type { Assignment, AttemptReport } from "../../src/shared/agent-protocol.js";
import type { ReadinessProbe } from "../../src/shared/endpoints/replica-service.js";
import { parseTiming } from "../../src/shared/endpoints/server-timing.js";
import { STREAM_WINDOW_BYTES } from "../../src/shared/endpoints/tunnel-protocol.js";
import { newId } from "../../src/shared/ids.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { ensureLlmImage, LLM_IMAGE, LLM_STORY } from "../support/llm-image.js";
import { TunnelRegion, until } from "./tunnel-region.js";

// The agent's tunnel client and replica runner against a real WebSocket server playing the region
// and real replica containers on their own job networks (behind the host firewall the agent
// installs): readiness, streaming, flow control, cancellation, a replica that dies mid-response.
const enabled = dockerAvailable("agent tunnel client");
const RUN_LABEL = { "meridian.test": `tunnel-client-${process.pid}` };
const BIG_BYTES = 6 * 1024 * 1024;

interface Replica {
  assignment: Assignment;
  runner: AttemptRunner;
  logs: () => string;
  exited: () => AttemptReport | undefined;
}

const probe = (path: string): ReadinessProbe => ({
  path,
  initialDelaySeconds: 0,
  periodSeconds: 1,
  timeoutSeconds: 2,
  failureThreshold: 2,
});

describe.skipIf(!enabled)("agent tunnel client", () => {
  const runtime = new DockerRuntime({ extraLabels: RUN_LABEL, stopGraceSeconds: 1 });
  const region = new TunnelRegion();
  let hosting: ReplicaHosting;
  let agentSocket: WebSocket;
  let engine: Replica;
  let files: Replica;

  function connect(): WebSocket {
    const socket = new WebSocket(region.url);
    socket.on("open", () => hosting.tunnel.attach(socket));
    return socket;
  }

  function startReplica(image: string, command: string[], port: number, readiness: ReadinessProbe, env = {}) {
    const assignment: Assignment = {
      jobId: newId("job"),
      attemptId: newId("att"),
      fencing: 1,
      leaseExpiresAt: Date.now() + 60_000,
      image,
      command,
      env,
      gpuUuids: [],
      cpus: 1,
      memoryMib: 512,
      timeoutSeconds: 0,
      service: { endpointId: "ep_test", port, readiness },
    };
    let logs = "";
    let exited: AttemptReport | undefined;
    const replica = hosting.start(assignment, assignment.service ?? { endpointId: "", port, readiness });
    const runner = new AttemptRunner(assignment, {
      nodeId: `node-${RUN_LABEL["meridian.test"]}`,
      runtime,
      clock: systemClock,
      log: silentLog,
      service: replica.hooks,
      report: async (_id, body) => {
        if (body.type === "logs") logs += body.chunks.map((chunk) => chunk.data).join("");
        if (body.type === "exited") exited = body;
        return { accepted: true, stop: false };
      },
    });
    void runner.done.then(() => replica.finished());
    return { assignment, runner, logs: () => logs, exited: () => exited };
  }

  const framesOf = (attemptId: string) => region.replicaFrames.filter((f) => f.attemptId === attemptId);
  const lastFrame = (attemptId: string) => framesOf(attemptId).at(-1);

  beforeAll(async () => {
    ensureLlmImage();
    hosting = replicaHosting({ runtime, clock: systemClock, log: silentLog });
    agentSocket = connect();
    await region.connection();
    engine = startReplica(LLM_IMAGE, [], 8000, probe("/health"), { TOKEN_DELAY_MS: "20" });
    files = startReplica(
      TEST_IMAGE,
      [
        "sh",
        "-c",
        `head -c ${BIG_BYTES} /dev/urandom > /tmp/big; echo ok > /tmp/health; exec httpd -f -p 8080 -h /tmp`,
      ],
      8080,
      probe("/health"),
    );
    await until(
      "both replicas ready",
      () => [engine, files].every((r) => lastFrame(r.assignment.attemptId)?.state === "ready"),
      90_000,
    );
  }, 120_000);

  afterAll(async () => {
    agentSocket?.terminate();
    await region.close();
    const left = await runtime.docker.listContainers({
      all: true,
      filters: { label: [`meridian.test=${RUN_LABEL["meridian.test"]}`] },
    });
    await Promise.all(left.map((info) => runtime.docker.getContainer(info.Id).remove({ force: true })));
    await runtime.removeLeftovers(`node-${RUN_LABEL["meridian.test"]}`);
  });

  it("says starting, then ready once the readiness probe passes", () => {
    const states = framesOf(engine.assignment.attemptId).map((f) => f.state);
    expect(states[0]).toBe("starting");
    expect(states.at(-1)).toBe("ready");
    expect(lastFrame(engine.assignment.attemptId)).toMatchObject({
      fencing: 1,
      detail: "probe GET /health → 200",
    });
  });

  it("streams a chat completion from the engine, request body credited, response ended", async () => {
    const body = Buffer.from(
      JSON.stringify({ model: "ep", messages: [{ role: "user", content: "hi" }], stream: true }),
    );
    const s = region.open(engine.assignment.attemptId, "POST", "/v1/chat/completions", body, [
      ["content-type", "application/json"],
      ["connection", "keep-alive"],
    ]);
    await until("the stream's end", () => region.stream(s).ended);
    const seen = region.stream(s);
    expect(seen.head?.status).toBe(200);
    expect(seen.head?.headers).toContainEqual(["content-type", "text/event-stream"]);
    expect(seen.head?.headers.some(([name]) => name.toLowerCase() === "transfer-encoding")).toBe(false);
    expect(seen.credited).toBe(body.length);
    const events = region
      .text(s)
      .split("\n\n")
      .filter((e) => e !== "");
    expect(events.at(-1)).toBe("data: [DONE]");
    expect(seen.body.length).toBeGreaterThan(5);
    const text = events
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? "")
      .join("");
    expect(text).toBe(LLM_STORY);
  });

  it("carries a small request and its answer whole inside open and head once it said hello", async () => {
    expect(region.hello).toBe(true);
    const body = Buffer.from(JSON.stringify({ model: "ep", prompt: "x", max_tokens: 1 }));
    const s = region.openInline(engine.assignment.attemptId, "POST", "/v1/completions", body, [
      ["content-type", "application/json"],
    ]);
    await until("the inline answer", () => region.stream(s).ended);
    const seen = region.stream(s);
    expect(seen.head?.status).toBe(200);
    expect(seen.head?.end).toBe(true);
    // No data frames and no credit either way: the request and the answer were one message each.
    expect(seen.credited).toBe(0);
    expect(seen.body).toHaveLength(1);
    const answer = JSON.parse(region.text(s)) as { object: string; choices: { text: string }[] };
    expect(answer.object).toBe("text_completion");
    expect(answer.choices[0]?.text.length).toBeGreaterThan(0);
    expect(seen.head?.headers.some(([name]) => name === "server-timing")).toBe(true);
  });

  it("times its socket's round trip with a ping the region's runtime answers, and reports it in heads (ws-rtt)", async () => {
    const timings = async (): Promise<Record<string, number>> => {
      const body = Buffer.from(JSON.stringify({ model: "ep", prompt: "x", max_tokens: 1 }));
      const s = region.openInline(engine.assignment.attemptId, "POST", "/v1/completions", body, [
        ["content-type", "application/json"],
      ]);
      await until("the inline answer", () => region.stream(s).ended);
      const entries = (region.stream(s).head?.headers ?? []).filter(([name]) => name === "server-timing");
      return parseTiming(entries.map(([, value]) => value).join(","));
    };
    await timings();
    // The open above sent a probe (at most one per 250 ms); its pong comes back on the socket.
    await until("a ping from the tunnel", () => region.pings > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const entries = await timings();
    expect(entries.replica).toBeGreaterThanOrEqual(0);
    expect(entries["ws-rtt"]).toBeGreaterThanOrEqual(0);
    expect(entries["ws-rtt"]).toBeLessThan(60_000);
  });

  it("sends no more than the window un-credited, pausing the container's response until credit comes", async () => {
    region.autoCredit = false;
    const s = region.open(files.assignment.attemptId, "GET", "/big");
    await until("a window's worth", () => region.stream(s).bytes >= STREAM_WINDOW_BYTES);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(region.stream(s).bytes).toBe(STREAM_WINDOW_BYTES);
    expect(region.stream(s).ended).toBe(false);
    region.autoCredit = true;
    region.credit(s, STREAM_WINDOW_BYTES);
    await until("the whole file", () => region.stream(s).ended);
    expect(region.stream(s).bytes).toBe(BIG_BYTES);
    expect(region.stream(s).reset).toBeUndefined();
  });

  it("aborts the upstream request when the region resets the stream (the caller went away)", async () => {
    const body = Buffer.from(
      JSON.stringify({ model: "ep", prompt: "x", stream: true, ignore_eos: true, max_tokens: 1500 }),
    );
    const s = region.open(engine.assignment.attemptId, "POST", "/v1/completions", body);
    await until("a few tokens", () => region.stream(s).body.length > 3);
    region.send({ t: "reset", s, reason: "cancelled", message: "" });
    await until("the engine saw the cancel", () => engine.logs().includes("cancelled by the caller"));
    await until("no stream left", () => hosting.tunnel.openStreams === 0);
    expect(hosting.replicas.get(engine.assignment.attemptId)?.streamsInFlight).toBe(0);
  });

  it("resets a stream for a replica it does not run", async () => {
    const s = region.open(newId("att"), "GET", "/");
    await until("the reset", () => region.stream(s).reset !== undefined);
    expect(region.stream(s).reset?.reason).toBe("unknown_replica");
  });

  it("reports every replica again after the socket reconnects", async () => {
    const before = region.replicaFrames.length;
    agentSocket.close();
    agentSocket = connect();
    await until("frames again", () => region.replicaFrames.length >= before + 2);
    const again = region.replicaFrames.slice(before).map((f) => [f.attemptId, f.state]);
    expect(again).toContainEqual([engine.assignment.attemptId, "ready"]);
    expect(again).toContainEqual([files.assignment.attemptId, "ready"]);
  });

  it("drains on a stop: no new streams, the one in flight finishes, then the container goes", async () => {
    region.autoCredit = false;
    const s = region.open(files.assignment.attemptId, "GET", "/big");
    await until("a window's worth", () => region.stream(s).bytes >= STREAM_WINDOW_BYTES);
    files.runner.requestStop("cancelled", "cancelled by its owner");
    await until("draining", () => lastFrame(files.assignment.attemptId)?.state === "unready");
    expect(lastFrame(files.assignment.attemptId)?.detail).toMatch(/draining/);
    const refused = region.open(files.assignment.attemptId, "GET", "/health");
    await until("the refusal", () => region.stream(refused).reset !== undefined);
    expect(region.stream(refused).reset?.reason).toBe("unknown_replica");
    region.autoCredit = true;
    region.credit(s, STREAM_WINDOW_BYTES);
    await until("the whole file", () => region.stream(s).ended);
    expect(region.stream(s).bytes).toBe(BIG_BYTES);
    await files.runner.done;
    await until("the end", () => lastFrame(files.assignment.attemptId)?.state === "failed");
    expect(lastFrame(files.assignment.attemptId)?.detail).toBe("stopped: cancelled by its owner");
  });

  it("says why a replica does not become ready: the probe's status, a missing image", async () => {
    const wrongPath = startReplica(
      TEST_IMAGE,
      ["httpd", "-f", "-p", "8080", "-h", "/tmp"],
      8080,
      probe("/nope"),
    );
    await until(
      "the probe's status",
      () => lastFrame(wrongPath.assignment.attemptId)?.detail === "probe GET /nope → 404",
    );
    expect(lastFrame(wrongPath.assignment.attemptId)?.state).toBe("starting");
    wrongPath.runner.requestStop("cancelled", "cancelled by its owner");
    await wrongPath.runner.done;
    await until("the failure", () => lastFrame(wrongPath.assignment.attemptId)?.state === "failed");
    expect(framesOf(wrongPath.assignment.attemptId).map((f) => f.state)).toContain("unready");

    const missing = startReplica("127.0.0.1:5000/meridian/no-such-image:1", [], 8000, probe("/health"));
    await missing.runner.done;
    await until("the failure", () => lastFrame(missing.assignment.attemptId)?.state === "failed");
    expect(lastFrame(missing.assignment.attemptId)?.state).toBe("failed");
    expect(lastFrame(missing.assignment.attemptId)?.detail).toMatch(
      /image 127\.0\.0\.1:5000\/meridian\/no-such-image:1 was not found/,
    );
  });

  it("resets the stream with replica_died when the container dies mid-response, then says failed", async () => {
    const body = Buffer.from(
      JSON.stringify({ model: "ep", prompt: "x", stream: true, ignore_eos: true, max_tokens: 1500 }),
    );
    const s = region.open(engine.assignment.attemptId, "POST", "/v1/completions", body);
    await until("a few tokens", () => region.stream(s).body.length > 3);
    const info = await runtime.docker
      .listContainers({ filters: { label: [`meridian.attempt=${engine.assignment.attemptId}`] } })
      .then((list) => list[0]);
    await runtime.docker.getContainer(info?.Id ?? "none").kill();
    await until("the reset", () => region.stream(s).reset !== undefined);
    expect(region.stream(s).reset?.reason).toBe("replica_died");
    expect(region.stream(s).ended).toBe(false);
    await engine.runner.done;
    await until("the failure", () => lastFrame(engine.assignment.attemptId)?.state === "failed");
    expect(lastFrame(engine.assignment.attemptId)).toMatchObject({
      state: "failed",
      detail: "the container exited with code 137",
    });
    expect(engine.exited()).toMatchObject({ type: "exited", exitCode: 137 });
  });
});

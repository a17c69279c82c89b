/**
 * bench:gateway — what the endpoint data path adds over calling the replica container directly,
 * measured in the same run against the same real engine container (meridian/llm:test: llama.cpp
 * through node-llama-cpp, the project's tiny model):
 *
 * - added latency (p50, p99) of small non-streaming requests, and of the time to first token when
 *   streaming, through the agent's real tunnel client over a WebSocket to a Node stand-in for the
 *   region's side (bench/gateway-front.ts), against direct HTTP to the container;
 * - requests/s through that one tunnel (16 concurrent keep-alive callers), against direct;
 * - streaming throughput of a large response through the tunnel (MB/s), against direct;
 * - cold start from zero to first token with the image present: the agent starts the replica
 *   container, the engine loads the model, the first streamed token arrives (p50).
 *
 *   npm run bench:gateway -- [--requests 400] [--seconds 8] [--mb 64] [--cold-starts 5]
 */
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { silentLog } from "../src/agent/agent-log.js";
import { AttemptRunner } from "../src/agent/attempt-runner.js";
import { systemClock } from "../src/agent/clock.js";
import { DockerRuntime } from "../src/agent/docker-runtime.js";
import { replicaHosting } from "../src/agent/replica-hosting.js";
import type { Assignment } from "../src/shared/agent-protocol.js";
import { newId } from "../src/shared/ids.js";
import { ensureLlmImage, LLM_IMAGE } from "../test/support/llm-image.js";
import { TunnelFront } from "./gateway-front.js";
import { measureStack } from "./gateway-stack.js";
import { closeTimingPool, percentile, timed, ttft } from "./gateway-timing.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "400" },
    seconds: { type: "string", default: "8" },
    mb: { type: "string", default: "64" },
    "cold-starts": { type: "string", default: "5" },
    /** `hop`: only the tunnel hop (no wrangler dev); `stack`: only the whole gateway; default both. */
    only: { type: "string", default: "" },
    /** The whole gateway's harnesses, in this order: `wrangler` (wrangler dev), `direct` (no proxy). */
    harness: { type: "string", default: "wrangler,direct" },
  },
});
const REQUESTS = Number(values.requests);
const SECONDS = Number(values.seconds);
const MB = Number(values.mb);
const COLD_STARTS = Number(values["cold-starts"]);
const ONLY = values.only;
const HARNESSES = values.harness.split(",").map((h) => {
  if (h !== "wrangler" && h !== "direct") throw new Error(`--harness: wrangler or direct, not ${h}`);
  return h;
});

const LABEL = { "meridian.test": `bench-gateway-${process.pid}` };
const NODE = `node-bench-gateway-${process.pid}`;
const runtime = new DockerRuntime({ extraLabels: LABEL, stopGraceSeconds: 1 });
const hosting = replicaHosting({ runtime, clock: systemClock, log: silentLog });

function assignment(
  image: string,
  command: string[],
  port: number,
  env: Record<string, string> = {},
): Assignment {
  return {
    jobId: newId("job"),
    attemptId: newId("att"),
    fencing: 1,
    leaseExpiresAt: Date.now() + 3_600_000,
    image,
    command,
    env,
    gpuUuids: [],
    cpus: 1,
    memoryMib: 1024,
    timeoutSeconds: 0,
    service: {
      endpointId: "ep_bench",
      port,
      readiness: {
        path: "/health",
        initialDelaySeconds: 0,
        periodSeconds: 1,
        timeoutSeconds: 2,
        failureThreshold: 3,
      },
    },
  };
}

function run(spec: Assignment): AttemptRunner {
  if (spec.service === undefined) throw new Error("not a replica");
  const replica = hosting.start(spec, spec.service);
  const runner = new AttemptRunner(spec, {
    nodeId: NODE,
    runtime,
    clock: systemClock,
    log: silentLog,
    service: replica.hooks,
    report: async () => ({ accepted: true, stop: false }),
  });
  void runner.done.then(() => replica.finished());
  return runner;
}

async function until(check: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function containerAddress(attemptId: string): Promise<string> {
  const [info] = await runtime.docker.listContainers({
    filters: { label: [`meridian.attempt=${attemptId}`] },
  });
  const address = info && (await runtime.address(info.Id, attemptId));
  if (!address) throw new Error(`no address for ${attemptId}`);
  return address;
}

const progress = (line: string): void => {
  process.stderr.write(`bench:gateway: ${line}\n`);
};

const ms = (value: number): string => `${value.toFixed(2)} ms`;

/** Requests/s that 16 concurrent keep-alive callers get from `path` for SECONDS. */
async function rps(base: string, path: string): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await timed(base, path, "");
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, caller));
  return done / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  ensureLlmImage();
  const engine = assignment(LLM_IMAGE, [], 8000);
  const files = assignment(
    "meridian/busybox:test",
    [
      "sh",
      "-c",
      `head -c ${MB * 1024 * 1024} /dev/zero > /tmp/big; echo ok > /tmp/health; exec httpd -f -p 8080 -h /tmp`,
    ],
    8080,
  );
  const front = new TunnelFront();
  const tunnelUrl = await front.listen(engine.attemptId);
  const filesTunnelUrl = await front.listen(files.attemptId);
  const socket = new WebSocket(front.agentUrl);
  socket.on("open", () => hosting.tunnel.attach(socket));
  await front.connected();
  progress("the agent's tunnel is connected; starting the replicas");
  const runners = [run(engine), run(files)];
  try {
    await until(() => [engine, files].every((a) => hosting.replicas.get(a.attemptId)?.state === "ready"));
    const direct = `http://${await containerAddress(engine.attemptId)}:8000`;
    const filesDirect = `http://${await containerAddress(files.attemptId)}:8080`;

    progress(`replicas ready (engine at ${direct}); measuring latency`);
    const small = JSON.stringify({ model: "m", prompt: "x", max_tokens: 1 });
    for (let i = 0; i < 30; i++) {
      await timed(direct, "/v1/completions", small);
      await timed(tunnelUrl, "/v1/completions", small);
    }
    // Interleaved, so both paths see the same machine load over the run.
    const latency = { direct: [] as number[], tunnel: [] as number[] };
    for (let i = 0; i < REQUESTS; i++) {
      latency.direct.push((await timed(direct, "/v1/completions", small)).total);
      latency.tunnel.push((await timed(tunnelUrl, "/v1/completions", small)).total);
    }
    const first = { direct: [] as number[], tunnel: [] as number[] };
    for (let i = 0; i < Math.max(50, REQUESTS / 4); i++) {
      first.direct.push(await ttft(direct));
      first.tunnel.push(await ttft(tunnelUrl));
    }

    progress("measuring requests/s");
    const rate = {
      direct: await rps(direct, "/health"),
      tunnel: await rps(tunnelUrl, "/health"),
    };

    progress("measuring throughput");
    const throughput = { direct: [] as number[], tunnel: [] as number[] };
    for (let i = 0; i < 3; i++) {
      for (const [name, base] of [
        ["direct", filesDirect],
        ["tunnel", filesTunnelUrl],
      ] as const) {
        const result = await timed(base, "/big", "");
        if (result.bytes !== MB * 1024 * 1024) throw new Error(`${name}: got ${result.bytes} bytes`);
        throughput[name].push(result.bytes / 1024 / 1024 / (result.total / 1000));
      }
    }

    progress("measuring cold starts");
    const cold: number[] = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      const spec = assignment(LLM_IMAGE, [], 8000);
      const started = performance.now();
      const runner = run(spec);
      let address: string | undefined;
      await until(async () => {
        address = await containerAddress(spec.attemptId).catch(() => undefined);
        return address !== undefined;
      });
      let firstToken = 0;
      await until(async () => {
        const at = await ttft(`http://${address}:8000`).catch(() => 0);
        if (at > 0) firstToken = performance.now() - started;
        return at > 0;
      });
      cold.push(firstToken);
      runner.requestStop("cancelled", "bench over");
      await runner.done;
    }

    const report = {
      date: new Date().toISOString(),
      node: process.version,
      requests: REQUESTS,
      smallRequest: {
        directP50: percentile(latency.direct, 50),
        directP99: percentile(latency.direct, 99),
        tunnelP50: percentile(latency.tunnel, 50),
        tunnelP99: percentile(latency.tunnel, 99),
      },
      ttft: {
        directP50: percentile(first.direct, 50),
        directP99: percentile(first.direct, 99),
        tunnelP50: percentile(first.tunnel, 50),
        tunnelP99: percentile(first.tunnel, 99),
      },
      requestsPerSecond: rate,
      throughputMBps: {
        direct: percentile(throughput.direct, 50),
        tunnel: percentile(throughput.tunnel, 50),
      },
      coldStartMs: { p50: percentile(cold, 50), all: cold.map((v) => Math.round(v)) },
    };
    const s = report.smallRequest;
    const t = report.ttft;
    console.log(
      `small request   direct p50 ${ms(s.directP50)} p99 ${ms(s.directP99)} | tunnel p50 ${ms(s.tunnelP50)} p99 ${ms(s.tunnelP99)} | added p50 ${ms(s.tunnelP50 - s.directP50)} p99 ${ms(s.tunnelP99 - s.directP99)}`,
    );
    console.log(
      `ttft (stream)   direct p50 ${ms(t.directP50)} p99 ${ms(t.directP99)} | tunnel p50 ${ms(t.tunnelP50)} p99 ${ms(t.tunnelP99)} | added p50 ${ms(t.tunnelP50 - t.directP50)} p99 ${ms(t.tunnelP99 - t.directP99)}`,
    );
    console.log(
      `requests/s      direct ${rate.direct.toFixed(0)} | tunnel ${rate.tunnel.toFixed(0)} (16 connections, GET /health)`,
    );
    console.log(
      `throughput      direct ${report.throughputMBps.direct.toFixed(0)} MB/s | tunnel ${report.throughputMBps.tunnel.toFixed(0)} MB/s (${MB} MiB response)`,
    );
    console.log(
      `cold start      p50 ${ms(report.coldStartMs.p50)} (${report.coldStartMs.all.join(", ")} ms)`,
    );
    console.log(JSON.stringify(report));
  } finally {
    for (const runner of runners) runner.requestStop("cancelled", "bench over");
    await Promise.all(runners.map((runner) => runner.done));
    await front.close();
  }
}

/** The whole gateway (the local stack + a real agent), printed like the hop's figures. */
async function stack(harness: "wrangler" | "direct"): Promise<void> {
  ensureLlmImage();
  const r = await measureStack({
    requests: REQUESTS,
    seconds: SECONDS,
    mb: MB,
    coldStarts: COLD_STARTS,
    harness,
    progress,
  });
  console.log(
    `stack harness   ${harness === "wrangler" ? "wrangler dev (its proxy in front)" : "direct (workerd via Miniflare, no proxy)"}`,
  );
  const s = r.smallRequest;
  const t = r.ttft;
  console.log(
    `stack small     direct p50 ${ms(s.directP50)} p99 ${ms(s.directP99)} | gateway p50 ${ms(s.gatewayP50)} p99 ${ms(s.gatewayP99)} | added p50 ${ms(s.gatewayP50 - s.directP50)} p99 ${ms(s.gatewayP99 - s.directP99)}`,
  );
  console.log(
    `stack floor     GET /v1/health p50 ${ms(r.workerFloor.p50)} p99 ${ms(r.workerFloor.p99)} (the local Worker alone)`,
  );
  console.log(
    `stack ttft      direct p50 ${ms(t.directP50)} p99 ${ms(t.directP99)} | gateway p50 ${ms(t.gatewayP50)} p99 ${ms(t.gatewayP99)} | added p50 ${ms(t.gatewayP50 - t.directP50)} p99 ${ms(t.gatewayP99 - t.directP99)}`,
  );
  console.log(
    `stack req/s     direct ${r.requestsPerSecond.direct.perSecond.toFixed(0)} | gateway ${r.requestsPerSecond.gateway.perSecond.toFixed(0)} (16 connections, GET /health, one region; failed ${r.requestsPerSecond.direct.failed} / ${r.requestsPerSecond.gateway.failed})`,
  );
  console.log(
    `stack MB/s      direct ${r.throughputMBps.direct.toFixed(0)} | gateway ${r.throughputMBps.gateway.toFixed(0)} (${MB} MiB through /proxy)`,
  );
  console.log(
    `stack profile   p50 of each hop's Server-Timing (ms): ${Object.entries(r.profile)
      .map(([name, value]) => `${name} ${value.toFixed(2)}`)
      .join(", ")}`,
  );
  console.log(`stack cold      p50 ${ms(r.coldStartMs.p50)} (${r.coldStartMs.all.join(", ")} ms)`);
  console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, harness, stack: r }));
}

try {
  if (ONLY !== "stack") await main();
  if (ONLY !== "hop") for (const harness of HARNESSES) await stack(harness);
} finally {
  closeTimingPool();
}
process.exit(0);

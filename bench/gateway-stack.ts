/**
 * bench:gateway's whole-gateway phase: the local stack as `npm start` runs it (`wrangler dev`:
 * the Worker's gateway, the endpoint's Durable Object, the region's object and its tunnel) and a
 * real agent process serving a real engine replica, against direct HTTP to the same container in
 * the same run, interleaved. What it adds is everything between a caller and the container: key
 * check, routing, two Durable Object hops, the WebSocket tunnel and the agent's forwarding.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { EndpointView, ReplicaView } from "../src/shared/endpoints/endpoint-views.js";
import { AgentProcess, removeContainersLabelled } from "../test/support/agent-process.js";
import { startControlPlane } from "../test/support/control-plane.js";
import { LLM_IMAGE } from "../test/support/llm-image.js";
import { UserClient } from "../test/support/user-client.js";
import { percentile, timed, ttft } from "./gateway-timing.js";
import { startFreshDirectStack } from "./support/direct-stack.js";

export interface StackOptions {
  requests: number;
  seconds: number;
  mb: number;
  coldStarts: number;
  /**
   * `wrangler`: `wrangler dev` as `npm start` runs it (its proxy process in front of the Worker);
   * `direct`: the same bundle and bindings on workerd through Miniflare alone (bench/support/direct-stack.ts).
   */
  harness: "wrangler" | "direct";
  progress: (line: string) => void;
}

export interface StackReport {
  smallRequest: { directP50: number; directP99: number; gatewayP50: number; gatewayP99: number };
  /** GET /v1/health through the same wrangler dev: the local Worker's own floor, no Durable Object. */
  workerFloor: { p50: number; p99: number };
  ttft: { directP50: number; directP99: number; gatewayP50: number; gatewayP99: number };
  requestsPerSecond: {
    direct: { perSecond: number; failed: number };
    gateway: { perSecond: number; failed: number };
  };
  throughputMBps: { direct: number; gateway: number };
  coldStartMs: { p50: number; all: number[] };
  /**
   * Where a small request's time goes, p50 of each hop's Server-Timing entry (ms): `auth` (key
   * check), `model` (body, name → endpoint), `to-endpoint` (the endpoint object's answer, head),
   * `endpoint` (its own part), `to-region` (the region's answer), `region` (its own part), `tunnel`
   * (open → head over the WebSocket), `replica` (the agent's request to the container → head);
   * `head`/`total`: the caller's own clock to the response head and to the end.
   */
  profile: Record<string, number>;
}

/**
 * One gateway request's time split by who spends it, from its Server-Timing and the Worker floor
 * measured next to it (ms): `split:outside` (before and after the Worker's handler, less the floor),
 * `split:floor` (a trivial Worker route through the same wrangler dev: its proxy and routing),
 * `split:to-region` (the Worker → region object hop, less the tunnel), `split:ws-rtt` (the agent's
 * socket round trip, answered by the runtime: transport only), `split:tunnel-js` (the tunnel's open
 * → head less that round trip and the replica: region and agent dispatch), `split:replica`.
 */
function splitOf(
  through: { head: number; timing: Record<string, number> },
  floor: number,
): Record<string, number> {
  const t = through.timing;
  const hop = t["to-region"] ?? t["to-endpoint"];
  if (hop === undefined || t.tunnel === undefined || t.replica === undefined) return {};
  const rtt = t["ws-rtt"] ?? 0;
  return {
    "split:floor": floor,
    "split:outside": through.head - hop - floor,
    "split:to-region": hop - t.tunnel,
    "split:ws-rtt": rtt,
    "split:tunnel-js": t.tunnel - rtt - t.replica,
    "split:replica": t.replica,
  };
}

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The container's address on its job network (the host reaches it; callers never do). */
function containerAddress(attemptId: string): string {
  const id = execFileSync("docker", ["ps", "-q", "--filter", `label=meridian.attempt=${attemptId}`], {
    encoding: "utf8",
  }).trim();
  const address = execFileSync(
    "docker",
    ["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", id],
    { encoding: "utf8" },
  )
    .trim()
    .split(" ")[0];
  if (!address) throw new Error(`no address for ${attemptId}`);
  return address;
}

/** Requests/s that 16 concurrent keep-alive callers get from `path` for `seconds` (failures counted apart). */
async function rps(
  base: string,
  path: string,
  seconds: number,
  headers: Record<string, string>,
): Promise<{ perSecond: number; failed: number }> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) {
      try {
        await timed(base, path, "", headers);
        done++;
      } catch {
        failed++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, caller));
  return { perSecond: done / ((performance.now() - started) / 1000), failed };
}

export async function measureStack(options: StackOptions): Promise<StackReport> {
  const { progress } = options;
  const vars = { POLL_WAIT_MS: "1000" };
  const plane =
    options.harness === "direct"
      ? await startFreshDirectStack({ vars })
      : { ...(await startControlPlane({ vars })), dispose: undefined };
  const dir = await mkdtemp(path.join(tmpdir(), "meridian-bench-gateway-"));
  const agent = new AgentProcess({ controlPlane: plane.url, dataDir: dir, args: ["--region", "eu-west"] });
  let nodeId = "";
  try {
    nodeId = await agent.registered();
    const user = await UserClient.signup(plane.url);
    const auth = { authorization: `Bearer ${user.apiKey}` };
    const create = async (body: Record<string, unknown>): Promise<string> => {
      const res = await user.request("/v1/endpoints", { method: "POST", body });
      if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as EndpointView).id;
    };
    const common = {
      readiness: { path: "/health", periodSeconds: 1 },
      resources: { gpus: 0, cpus: 1, memoryGb: 1 },
      regions: ["eu-west"],
    };
    const engineId = await create({
      ...common,
      name: "bench-engine",
      image: LLM_IMAGE,
      port: 8000,
      env: { MODEL_NAME: "bench-engine" },
      replicas: { min: 1, max: 1 },
    });
    const filesId = await create({
      ...common,
      name: "bench-files",
      image: "meridian/busybox:test",
      command: [
        "sh",
        "-c",
        `head -c ${options.mb * 1024 * 1024} /dev/zero > /tmp/big; echo ok > /tmp/health; exec httpd -f -p 8080 -h /tmp`,
      ],
      port: 8080,
      replicas: { min: 1, max: 1 },
    });
    const readyAttempt = (id: string) =>
      until(`${id} ready`, async () => {
        const res = await user.request(`/v1/endpoints/${id}/replicas`);
        const { replicas } = (await res.json()) as { replicas: ReplicaView[] };
        return replicas.find((r) => r.state === "ready")?.attemptId ?? undefined;
      });
    const engineAttempt = await readyAttempt(engineId);
    const filesAttempt = await readyAttempt(filesId);
    const direct = `http://${containerAddress(engineAttempt)}:8000`;
    const filesDirect = `http://${containerAddress(filesAttempt)}:8080`;
    const gateway = plane.url;
    progress(`stack (${options.harness}): replicas ready (engine at ${direct}); measuring latency`);

    const small = (model: string) => JSON.stringify({ model, prompt: "x", max_tokens: 1 });
    for (let i = 0; i < 30; i++) {
      await timed(direct, "/v1/completions", small("m"));
      await timed(gateway, "/v1/completions", small("bench-engine"), auth);
    }
    const latency = { direct: [] as number[], gateway: [] as number[], floor: [] as number[] };
    const spans: Record<string, number[]> = {};
    const span = (name: string, value: number): void => {
      const values = spans[name] ?? [];
      values.push(value);
      spans[name] = values;
    };
    for (let i = 0; i < options.requests; i++) {
      latency.direct.push((await timed(direct, "/v1/completions", small("m"))).total);
      const through = await timed(gateway, "/v1/completions", small("bench-engine"), auth);
      latency.gateway.push(through.total);
      span("head", through.head);
      span("total", through.total);
      for (const [name, value] of Object.entries(through.timing)) span(name, value);
      const floor = (await timed(gateway, "/v1/health", "")).total;
      latency.floor.push(floor);
      for (const [name, value] of Object.entries(splitOf(through, floor))) span(name, value);
    }
    const profile = Object.fromEntries(
      Object.entries(spans).map(([name, values]) => [name, percentile(values, 50)]),
    );
    progress(
      `stack: profile p50 (ms) ${Object.entries(profile)
        .map(([name, value]) => `${name} ${value.toFixed(2)}`)
        .join(", ")}`,
    );
    const first = { direct: [] as number[], gateway: [] as number[] };
    for (let i = 0; i < Math.max(50, options.requests / 4); i++) {
      first.direct.push(await ttft(direct, "m"));
      first.gateway.push(await ttft(gateway, "bench-engine", auth));
    }

    progress(
      `stack: worker floor (GET /v1/health) p50/p99 ${percentile(latency.floor, 50).toFixed(2)}/${percentile(latency.floor, 99).toFixed(2)} ms; small p50/p99 direct ${percentile(latency.direct, 50).toFixed(2)}/${percentile(latency.direct, 99).toFixed(2)} ms, gateway ${percentile(latency.gateway, 50).toFixed(2)}/${percentile(latency.gateway, 99).toFixed(2)} ms; ttft p50/p99 direct ${percentile(first.direct, 50).toFixed(2)}/${percentile(first.direct, 99).toFixed(2)} ms, gateway ${percentile(first.gateway, 50).toFixed(2)}/${percentile(first.gateway, 99).toFixed(2)} ms`,
    );
    progress("stack: measuring requests/s");
    const rate = {
      direct: await rps(direct, "/health", options.seconds, {}),
      gateway: await rps(gateway, `/v1/endpoints/${engineId}/proxy/health`, options.seconds, auth),
    };

    progress("stack: measuring throughput");
    const throughput = { direct: [] as number[], gateway: [] as number[] };
    for (let i = 0; i < 3; i++) {
      for (const [name, base, route, headers] of [
        ["direct", filesDirect, "/big", {}],
        ["gateway", gateway, `/v1/endpoints/${filesId}/proxy/big`, auth],
      ] as const) {
        const result = await timed(base, route, "", headers);
        if (result.bytes !== options.mb * 1024 * 1024) throw new Error(`${name}: got ${result.bytes} bytes`);
        throughput[name].push(result.bytes / 1024 / 1024 / (result.total / 1000));
      }
    }

    progress(
      `stack: requests/s direct ${rate.direct.perSecond.toFixed(0)} gateway ${rate.gateway.perSecond.toFixed(0)} (failed ${rate.direct.failed}/${rate.gateway.failed}); MB/s direct ${percentile(throughput.direct, 50).toFixed(0)} gateway ${percentile(throughput.gateway, 50).toFixed(0)}`,
    );
    progress("stack: measuring cold starts (endpoint at zero → first streamed token)");
    // The node's two CPUs are taken by the two replicas above: they go first.
    for (const id of [engineId, filesId]) await user.request(`/v1/endpoints/${id}`, { method: "DELETE" });
    await until("the measured replicas' containers gone", async () =>
      execFileSync("docker", ["ps", "-q", "--filter", `label=meridian.node=${nodeId}`], {
        encoding: "utf8",
      }).trim() === ""
        ? true
        : undefined,
    );
    const coldId = await create({
      ...common,
      name: "bench-cold",
      image: LLM_IMAGE,
      port: 8000,
      env: { MODEL_NAME: "bench-cold" },
      replicas: { min: 0, max: 1 },
      scaling: { idleSecondsToZero: 1, scaleUpWindowSeconds: 1, scaleDownWindowSeconds: 1 },
    });
    const cold: number[] = [];
    for (let i = 0; i < options.coldStarts; i++) {
      await until("bench-cold at zero", async () => {
        const res = await user.request(`/v1/endpoints/${coldId}/replicas`);
        const { replicas } = (await res.json()) as { replicas: ReplicaView[] };
        return replicas.length === 0 ? true : undefined;
      });
      const started = performance.now();
      await ttft(gateway, "bench-cold", auth);
      cold.push(performance.now() - started);
    }

    return {
      smallRequest: {
        directP50: percentile(latency.direct, 50),
        directP99: percentile(latency.direct, 99),
        gatewayP50: percentile(latency.gateway, 50),
        gatewayP99: percentile(latency.gateway, 99),
      },
      workerFloor: { p50: percentile(latency.floor, 50), p99: percentile(latency.floor, 99) },
      ttft: {
        directP50: percentile(first.direct, 50),
        directP99: percentile(first.direct, 99),
        gatewayP50: percentile(first.gateway, 50),
        gatewayP99: percentile(first.gateway, 99),
      },
      requestsPerSecond: rate,
      throughputMBps: {
        direct: percentile(throughput.direct, 50),
        gateway: percentile(throughput.gateway, 50),
      },
      coldStartMs: { p50: percentile(cold, 50), all: cold.map((v) => Math.round(v)) },
      profile,
    };
  } finally {
    await agent.kill("SIGTERM");
    if (nodeId) removeContainersLabelled(`meridian.node=${nodeId}`);
    await rm(dir, { recursive: true, force: true });
    await (plane.dispose ?? plane.stop)();
  }
}

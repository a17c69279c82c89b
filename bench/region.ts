/**
 * bench:region — what idle and steady-state agents cost their Region Durable Object.
 *
 * Part 1 (measured for real): N simulated agents (default 1,000) speaking the signed protocol over
 * HTTP to `wrangler dev` (workerd, local D1 and Durable Objects): each registers, then polls as the
 * agent does (held poll, then the `nextPollDelayMs` pause). Over a steady-state window it counts
 * requests into the Region object from the agents' side and from wrangler's request log, storage
 * writes of the Region object (SQLite triggers on its key-value table, installed while wrangler is
 * stopped) and D1 rows written, the per-node poll interval, the held polls' overshoot, and the
 * latency of a poll that is answered at once (waitMs 0) under that load.
 *
 * Part 2 (in-process model, bench/region-model.ts; not the Durable Object): the real `RegionState` and `RegionStanding`
 * modules the object runs, with 10,000 registered nodes, driven in simulated time at the paced
 * rate (held poll: heartbeat at its start and end, then the jittered pause), with the alarm's
 * sweep every sweepMs, staging what each step would write exactly as `RegionObject.save()` does.
 * Also times the per-request CPU the object spends in the state machine, `nextWakeAt` (run by every
 * save) and the nonce guard at that size.
 *
 *   npm run bench:region -- [--nodes 1000] [--window-seconds 60] [--sim-nodes 10000] [--sim-seconds 120]
 */
import { setMaxListeners } from "node:events";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { timingOf } from "../src/durable/lease.js";
import { OBJECT_REQUESTS_PER_SECOND, pacingFor, TARGET_IDLE_SHARE } from "../src/durable/poll-pacing.js";
import { simulateRegion } from "./region-model.js";
import { hardware, SimAgent, summary } from "./support/sim-agent.js";
import {
  d1File,
  diffCounts,
  freshState,
  installWriteCounters,
  kvDiff,
  kvSnapshot,
  type LocalStack,
  readWriteCounts,
  regionFiles,
  startStack,
  total,
} from "./support/wrangler.js";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "1000" },
    "window-seconds": { type: "string", default: "60" },
    "sim-nodes": { type: "string", default: "10000" },
    "sim-seconds": { type: "string", default: "120" },
    "skip-real": { type: "boolean", default: false },
  },
});
const realNodes = Number(values.nodes);
const windowSeconds = Number(values["window-seconds"]);
const simNodes = Number(values["sim-nodes"]);
const simSeconds = Number(values["sim-seconds"]);
const budget = OBJECT_REQUESTS_PER_SECOND * TARGET_IDLE_SHARE;
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

async function inPool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        const item = items[i];
        if (item !== undefined) await fn(item);
      }
    }),
  );
}

// ---- part 1: real agents against wrangler dev ------------------------------------------------

async function measureReal(nodes: number): Promise<Record<string, unknown>> {
  const state = await freshState();
  const d1 = await d1File(state);
  await installWriteCounters(d1);
  const stack: LocalStack = await startStack(state);
  const agents = Array.from({ length: nodes }, () => new SimAgent(stack.url));
  const stopping = new AbortController();
  // Every agent's poll and pause listen on the one signal.
  setMaxListeners(nodes * 4 + 100, stopping.signal);
  try {
    const first = agents[0];
    if (!first) throw new Error("no agents");
    await first.register(hardware());
    const [doFile] = await regionFiles(state);
    if (!doFile) throw new Error("no Region object database");

    const regStart = performance.now();
    const doBeforeReg = await kvSnapshot(doFile);
    const d1BeforeReg = await readWriteCounts(d1);
    await inPool(agents.slice(1), 16, async (agent) => {
      await agent.register(hardware());
    });
    const registerSeconds = (performance.now() - regStart) / 1000;
    const regDo = kvDiff(await kvSnapshot(doFile), doBeforeReg);
    const regD1 = diffCounts(await readWriteCounts(d1), d1BeforeReg);

    // Poll loops, as the agent's work loop runs them.
    let inWindow = false;
    let windowRequests = 0;
    let errors = 0;
    const heldMs: number[] = [];
    const lastAt = new Map<SimAgent, number>();
    const gaps: number[] = [];
    const loop = async (agent: SimAgent): Promise<void> => {
      while (!stopping.signal.aborted) {
        const sentAt = Date.now();
        if (inWindow) {
          windowRequests++;
          const last = lastAt.get(agent);
          if (last !== undefined) gaps.push(sentAt - last);
        }
        lastAt.set(agent, sentAt);
        try {
          const response = await agent.poll([], undefined, stopping.signal);
          if (inWindow) heldMs.push(Date.now() - sentAt);
          if (response.nextPollDelayMs > 0) await sleep(response.nextPollDelayMs, stopping.signal);
        } catch (error) {
          if (stopping.signal.aborted) return;
          errors++;
          if (errors <= 3) console.error(`poll failed: ${String(error)}`);
          await sleep(1_000, stopping.signal);
        }
      }
    };
    // Started over 2 s, as agents that registered at different times would be.
    const loops = agents.map(async (agent, i) => {
      await sleep((i / nodes) * 2_000, stopping.signal);
      await loop(agent);
    });
    await sleep(25_000);

    // A probe node asks with waitMs 0, so its polls are answered at once: the object's latency under load.
    const probe = new SimAgent(stack.url);
    await probe.register(hardware());
    await probe.poll([], 0);

    const doBefore = await kvSnapshot(doFile);
    const d1Before = await readWriteCounts(d1);
    const servedBefore = stack.served("/v1/agent/poll");
    const t0 = performance.now();
    inWindow = true;
    const probeMs: number[] = [];
    const probeDone = (async () => {
      while (performance.now() - t0 < windowSeconds * 1000 - 1_000) {
        const started = performance.now();
        await probe.poll([], 0);
        probeMs.push(performance.now() - started);
        await sleep(250);
      }
    })();
    await sleep(windowSeconds * 1000);
    inWindow = false;
    const seconds = (performance.now() - t0) / 1000;
    await probeDone;
    const servedPolls = stack.served("/v1/agent/poll") - servedBefore - probeMs.length;
    const doWrites = kvDiff(await kvSnapshot(doFile), doBefore);
    const d1Writes = diffCounts(await readWriteCounts(d1), d1Before);
    const doWriteRows = total(doWrites);
    const steadyRequests = windowRequests;
    const meanGap = gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length);
    stopping.abort();
    await Promise.allSettled(loops);
    return {
      what: "measured: simulated signed agents over HTTP against wrangler dev",
      nodes: nodes + 1,
      registration: {
        seconds: round(registerSeconds, 1),
        perSecond: round((nodes - 1) / registerSeconds, 1),
        doKeysWrittenPerRegistration: round(total(regDo) / (nodes - 1)),
        d1RowWritesPerRegistration: round(total(regD1) / (nodes - 1)),
        doWrites: regDo,
      },
      windowSeconds: round(seconds, 1),
      requestsPerSecond: {
        agentSide: round(steadyRequests / seconds, 1),
        serverSide: round(servedPolls / seconds, 1),
        probe: round(probeMs.length / seconds, 1),
        budget,
      },
      perNodeIntervalMs: Math.round(meanGap),
      heldPollMs: summary(heldMs),
      probePollMs: summary(probeMs),
      regionStorage: {
        keysWritten: doWriteRows,
        keysWrittenPerSecond: round(doWriteRows / seconds, 3),
        keysWrittenPerPoll: round(doWriteRows / Math.max(1, steadyRequests), 5),
        byKey: doWrites,
      },
      d1: { rowWrites: total(d1Writes), byTable: d1Writes },
      pollErrors: errors,
      pacing: pacingFor(nodes + 1, timingOf({}).pollWaitMs, 0, 0).pauseMs,
    };
  } finally {
    stopping.abort();
    await stack.dispose();
  }
}

// ---- part 2: the real RegionState module, in simulated time -----------------------------------

const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version };
const simulated = simulateRegion(simNodes, simSeconds);
console.log(`in-process model, ${simNodes} nodes: ${JSON.stringify(simulated)}`);
const smallSim = simulateRegion(realNodes, Math.min(simSeconds, 60));
console.log(`in-process model, ${realNodes} nodes: ${JSON.stringify(smallSim)}`);
const real = values["skip-real"] ? null : await measureReal(realNodes - 1);
if (real) console.log(`measured, ${realNodes} nodes: ${JSON.stringify(real)}`);
console.log(
  JSON.stringify({
    bench: "region",
    date: new Date().toISOString(),
    machine,
    measured: real,
    model: { [String(simNodes)]: simulated, [String(realNodes)]: smallSim },
  }),
);

/**
 * bench:region's part 2, the in-process model (not the Durable Object): the real `RegionState` and
 * `RegionStanding` modules the object runs, with N registered nodes, driven in simulated time at
 * the paced rate (held poll: heartbeat at its start and end, then the jittered pause), with the
 * alarm's sweep every sweepMs, staging what each step would write exactly as `RegionObject.save()`
 * does. Also times the per-request CPU the object spends in the state machine, `nextWakeAt` (run by
 * every save) and the nonce guard at that size.
 */
import { timingOf } from "../src/durable/lease.js";
import { RegionStanding } from "../src/durable/node-standing.js";
import { NonceGuard } from "../src/durable/nonce-guard.js";
import { jittered, OBJECT_REQUESTS_PER_SECOND, TARGET_IDLE_SHARE } from "../src/durable/poll-pacing.js";
import { composeRegion } from "../src/durable/region-compose.js";
import type { NodeRecord } from "../src/durable/region-records.js";
import { timeoutRunLimit } from "../src/durable/run-limits.js";
import { ledgerConfig } from "../src/ledger/ledger-config.js";
import { hardware } from "./support/sim-agent.js";

const budget = OBJECT_REQUESTS_PER_SECOND * TARGET_IDLE_SHARE;
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

interface StepWrites {
  puts: number;
  deletes: number;
  outbox: number;
}

export function simulateRegion(nodes: number, seconds: number): Record<string, unknown> {
  const timing = timingOf({});
  const standing = RegionStanding.restore({}, {}, false);
  let simNow = 0;
  const state = composeRegion("eu-west", {
    clock: { now: () => simNow },
    timing,
    standing,
    runLimit: timeoutRunLimit,
    fees: ledgerConfig({}),
  });
  const ids: string[] = [];
  // What RegionObject.save() writes: the state's effects and the standing's changes.
  const save = (now: number): StepWrites => {
    simNow = now;
    const effects = state.drainEffects();
    const changes = standing.takeChanges();
    return {
      puts: effects.puts.size + changes.puts.length + effects.outbox.length,
      deletes: effects.deletes.size + changes.deletes.length,
      outbox: effects.outbox.length,
    };
  };
  const start = 1_800_000_000_000;
  const regStarted = performance.now();
  let registrationWrites = 0;
  for (let i = 0; i < nodes; i++) {
    const id = `node-${String(i).padStart(6, "0")}`;
    ids.push(id);
    const record: NodeRecord = {
      id,
      publicKey: `pk-${i}`,
      region: "eu-west",
      hardware: hardware([
        { index: 0, uuid: `GPU-${i}`, name: "NVIDIA GeForce RTX 4090", vramMib: 24564, model: "RTX-4090" },
      ]),
      pricePerGpuHourMicros: 400_000 + (i % 50) * 10_000,
      labels: {},
      agentVersion: "bench",
      runtime: "docker",
      registeredAt: start,
    };
    state.registerNode(record, start + i);
    const w = save(start + i);
    registrationWrites += w.puts + w.deletes;
  }
  const registerMs = performance.now() - regStarted;
  const pacing = state.pacing();
  const nonces = new NonceGuard(start, () => undefined);

  // Each node: a held poll (heartbeat at start and at end), then the jittered pause.
  const STEP = 10;
  const buckets = new Map<number, number[]>();
  const kind = new Uint8Array(nodes); // 0: poll arrives, 1: held poll ends
  const schedule = (node: number, at: number): void => {
    const b = Math.floor(at / STEP);
    const list = buckets.get(b);
    if (list) list.push(node);
    else buckets.set(b, [node]);
  };
  const t0 = start + nodes; // registration done
  const cycle = timing.pollWaitMs + pacing.pauseMs;
  for (let i = 0; i < nodes; i++) schedule(i, t0 + Math.random() * cycle);
  const warmupMs = 60_000;
  const end = t0 + warmupMs + seconds * 1000;
  const measureFrom = t0 + warmupMs;
  let requests = 0;
  let heartbeats = 0;
  const writes: StepWrites = { puts: 0, deletes: 0, outbox: 0 };
  let alarms = 0;
  const alarmWrites: StepWrites = { puts: 0, deletes: 0, outbox: 0 };
  let stateNs = 0;
  let wakeNs = 0;
  let nonceNs = 0;
  let alarmNs = 0;
  const taken = new Set<string>();
  const lastPoll = new Float64Array(nodes);
  const gaps: number[] = [];
  let nextAlarm = t0 + timing.sweepMs;
  const add = (into: StepWrites, w: StepWrites): void => {
    into.puts += w.puts;
    into.deletes += w.deletes;
    into.outbox += w.outbox;
  };
  let seq = 0;
  for (let b = Math.floor(t0 / STEP); b * STEP < end; b++) {
    const now = b * STEP;
    const measuring = now >= measureFrom;
    if (now >= nextAlarm) {
      // RegionObject.alarm(): re-index the nodes whose standing changed, sweep, save.
      const a = process.hrtime.bigint();
      simNow = now;
      state.sweep(now);
      const w = save(now);
      state.nextWakeAt(now);
      if (measuring) {
        alarmNs += Number(process.hrtime.bigint() - a);
        alarms++;
        add(alarmWrites, w);
      }
      nextAlarm = now + timing.sweepMs;
    }
    const list = buckets.get(b);
    if (!list) continue;
    buckets.delete(b);
    for (const node of list) {
      const id = ids[node] ?? "";
      if (kind[node] === 0) {
        // A poll arrives: authenticate (nonce), heartbeat, save, look for work, arm the alarm.
        const n0 = process.hrtime.bigint();
        nonces.check(`n${seq++}`, now, now);
        const n1 = process.hrtime.bigint();
        state.heartbeat(id, true, [], undefined, now);
        const w = save(now);
        const work = state.workFor(id, taken, now);
        const n2 = process.hrtime.bigint();
        state.nextWakeAt(now);
        const n3 = process.hrtime.bigint();
        if (measuring) {
          requests++;
          heartbeats++;
          add(writes, w);
          nonceNs += Number(n1 - n0);
          stateNs += Number(n2 - n1);
          wakeNs += Number(n3 - n2);
          if (lastPoll[node]) gaps.push(now - (lastPoll[node] ?? now));
        }
        lastPoll[node] = now;
        if (work.assignments.length > 0) throw new Error("an idle region handed out work");
        kind[node] = 1;
        schedule(node, now + timing.pollWaitMs);
      } else {
        // The held poll ends: heartbeat again, then the agent pauses for nextPollDelayMs.
        const n1 = process.hrtime.bigint();
        state.heartbeat(id, true, [], undefined, now);
        const w = save(now);
        state.workFor(id, taken, now);
        // At least one step on: a zero pause polls again at once (the next bucket).
        const delay = Math.max(STEP, jittered(state.pacing().pauseMs));
        if (measuring) {
          heartbeats++;
          add(writes, w);
          stateNs += Number(process.hrtime.bigint() - n1);
        }
        kind[node] = 0;
        schedule(node, now + delay);
      }
    }
  }
  const meanGap = gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length);
  const rate = requests / seconds;
  return {
    what: "in-process model: the real RegionState/RegionStanding modules in simulated time, not the Durable Object",
    nodes,
    pacing,
    simulatedSeconds: seconds,
    registration: {
      wallMs: Math.round(registerMs),
      stagedWritesPerRegistration: round(registrationWrites / nodes),
    },
    requestsPerSecond: round(rate, 1),
    budget,
    shareOfObjectLimit: round(rate / OBJECT_REQUESTS_PER_SECOND, 3),
    perNodeIntervalMs: Math.round(meanGap),
    heartbeats,
    heartbeatWrites: writes,
    writesPerHeartbeat: round((writes.puts + writes.deletes) / Math.max(1, heartbeats), 5),
    alarms,
    alarmWrites,
    alarmWritesPerSecond: round((alarmWrites.puts + alarmWrites.deletes + alarms) / seconds, 3),
    cpuPerRequestUs: {
      stateMachine: round(stateNs / 1000 / Math.max(1, requests), 1),
      nextWakeAt: round(wakeNs / 1000 / Math.max(1, requests), 1),
      nonceGuard: round(nonceNs / 1000 / Math.max(1, requests), 1),
    },
    cpuPerAlarmMs: round(alarmNs / 1e6 / Math.max(1, alarms), 1),
  };
}

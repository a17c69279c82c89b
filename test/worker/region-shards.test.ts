import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { shardOf } from "../../src/durable/scheduler/index.js";
import { publicKeyOf } from "../../src/shared/agent-signature.js";
import { nodeIdForPublicKey } from "../../src/shared/ids.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  H100,
  hardware,
  jobOf,
  jsonInit,
  regionObject,
  signup,
  submit,
  TestAgent,
} from "./support.js";

// vitest.workers.config.ts splits "sa-east" into 3 Region objects (REGION_SHARDS); every other
// region is one object. The shard of a node (and of a job) is its id's hash.
const REGION = "sa-east";
const SHARDS = 3;
const objectName = (shard: number): string => (shard === 0 ? REGION : `${REGION}#${shard}`);
const shardObject = (shard: number) => regionObject(objectName(shard));
const base = { image: "meridian/busybox:test", command: ["true"], region: REGION, timeoutSeconds: 600 };

let uuid = 0;
function oneH100(): ReturnType<typeof hardware> {
  uuid++;
  return hardware([{ ...H100, uuid: `GPU-${String(uuid).padStart(8, "0")}-5555-0000-0000-000000000000` }]);
}

/** Agents of sa-east, `perShard` of them in each shard (keys drawn until each shard has its count). */
async function agentsPerShard(perShard: number): Promise<TestAgent[][]> {
  const byShard: TestAgent[][] = Array.from({ length: SHARDS }, () => []);
  while (byShard.some((agents) => agents.length < perShard)) {
    const agent = new TestAgent();
    const shard = shardOf(await nodeIdForPublicKey(await publicKeyOf(agent.secretKey)), SHARDS);
    const mine = byShard[shard];
    if (mine && mine.length < perShard) {
      await agent.register(oneH100(), { region: REGION });
      mine.push(agent);
    }
  }
  return byShard;
}

/** Every key of every shard's storage: what "nothing stored changed" compares. */
async function storedKeys(): Promise<string[][]> {
  const out: string[][] = [];
  for (let shard = 0; shard < SHARDS; shard++) {
    await runInDurableObject(shardObject(shard), async (_instance, state) => {
      out.push(
        [...(await state.storage.list()).entries()].map(([key, value]) => `${key}=${JSON.stringify(value)}`),
      );
    });
  }
  return out;
}

async function submitted(
  apiKey: string,
  spec: unknown,
  key?: string,
): Promise<{ id: string; status: string }> {
  const init = jsonInit("POST", spec, apiKey);
  if (key) (init.headers as Record<string, string>)["idempotency-key"] = key;
  const res = await call("/v1/jobs", init);
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return res.json();
}

describe("a region of several Region objects (sharded by node-id hash)", () => {
  afterEach(drainAgents);

  it("keeps each node in its shard, places jobs on the shards' nodes, a gang in one shard", async () => {
    const { apiKey } = await signup();
    const byShard = await agentsPerShard(2);

    // Each node is held (and listed) by exactly its hash's shard.
    for (let shard = 0; shard < SHARDS; shard++) {
      const listed = (await shardObject(shard).listNodes()) as { ok: true; value: { id: string }[] };
      const ids = listed.value.map((node) => node.id).sort();
      expect(ids).toEqual((byShard[shard] ?? []).map((agent) => agent.nodeId).sort());
    }
    const nodes = (await (await call(`/v1/nodes`, authed(apiKey))).json()) as {
      nodes: { id: string; region: string }[];
    };
    const listedHere = nodes.nodes.filter((node) => node.region === REGION).map((node) => node.id);
    expect(listedHere.sort()).toEqual(
      byShard
        .flat()
        .map((agent) => agent.nodeId)
        .sort(),
    );

    // A gang of 2 one-GPU nodes: both members in one shard, the job's own.
    const gang = await submitted(apiKey, { ...base, name: "gang", nodes: 2, resources: { gpus: 1 } });
    const gangShard = shardOf(gang.id, SHARDS);
    const gangAgents = byShard[gangShard] ?? [];
    const gangAssignments = await Promise.all(
      gangAgents.map(async (agent) => (await agent.poll()).assignments),
    );
    expect(gangAssignments.flat().map((a) => a.jobId)).toEqual([gang.id, gang.id]);

    // Four single jobs fill the other two shards' four nodes: each placed on a node of its own shard.
    const singles = [];
    for (let index = 0; index < 4; index++)
      singles.push(await submitted(apiKey, { ...base, name: `one-${index}`, resources: { gpus: 1 } }));
    const usedShards = new Set<number>([gangShard]);
    for (const job of singles) {
      const view = await jobOf(apiKey, job.id);
      expect(view.status).toBe("assigned");
      const nodeShard = shardOf(view.nodeId ?? "", SHARDS);
      expect(nodeShard).toBe(shardOf(job.id, SHARDS));
      expect(nodeShard).not.toBe(gangShard);
      usedShards.add(nodeShard);
    }
    expect(usedShards.size).toBe(SHARDS);

    // The node of a job on a shard other than 0 runs it to the end through its own shard.
    const far = singles.find((job) => shardOf(job.id, SHARDS) !== 0);
    if (!far) throw new Error("no single job outside shard 0");
    const farView = await jobOf(apiKey, far.id);
    const runner = byShard.flat().find((agent) => agent.nodeId === farView.nodeId);
    if (!runner) throw new Error("the job's node is not one of the test's");
    const [assignment] = (await runner.poll()).assignments;
    if (!assignment) throw new Error("the far job's node got no assignment");
    expect(assignment.jobId).toBe(far.id);
    expect((await runner.start(assignment)).status).toBe(200);
    expect((await runner.exit(assignment)).status).toBe(200);
    expect((await jobOf(apiKey, far.id)).status).toBe("succeeded");

    // A gang larger than any shard could never start (it is kept within one): 422, nothing stored.
    const before = await storedKeys();
    const tooBig = await submit(apiKey, { ...base, name: "too-big", nodes: 3, resources: { gpus: 1 } });
    const refusal = (await tooBig.json()) as { error: { code: string; message: string } };
    expect(tooBig.status).toBe(422);
    expect(refusal.error.code).toBe("infeasible_job");
    expect(refusal.error.message).toContain("shards");
    expect(await storedKeys()).toEqual(before);
  });

  it("reads, explains and cancels a job whatever shard holds it; a replayed key stays one job", async () => {
    const { apiKey } = await signup();
    await agentsPerShard(1);
    // More than the region's GPUs: some jobs wait, each in the shard it was admitted to.
    const jobs = [];
    for (let index = 0; index < 6; index++)
      jobs.push(await submitted(apiKey, { ...base, name: `w-${index}`, resources: { gpus: 1 } }));
    const queued = [];
    for (const job of jobs) {
      const res = await call(`/v1/jobs/${job.id}`, authed(apiKey));
      expect(res.status).toBe(200);
      const view = (await res.json()) as { status: string; explanation?: unknown };
      if (view.status === "queued") {
        expect(view.explanation).toBeDefined();
        queued.push(job);
      }
    }
    expect(queued.length).toBeGreaterThanOrEqual(3);
    const list = (await (await call("/v1/jobs?status=queued", authed(apiKey))).json()) as {
      jobs: { id: string; explanation?: unknown }[];
    };
    for (const job of queued) expect(list.jobs.find((j) => j.id === job.id)?.explanation).toBeDefined();

    // Cancel every job, placed or queued, on whichever shard holds it.
    for (const job of jobs) {
      const res = await call(`/v1/jobs/${job.id}/cancel`, {
        method: "POST",
        headers: authed(apiKey).headers,
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { status: string }).status).toBe("cancelled");
    }

    // One Idempotency-Key, asked three times: one job, held by one shard, whichever shard the
    // coordinator picks for each replay.
    const first = await submitted(apiKey, { ...base, name: "once", resources: { gpus: 1 } }, "once-key");
    for (let index = 0; index < 3; index++) {
      const again = await submitted(apiKey, { ...base, name: "once", resources: { gpus: 1 } }, "once-key");
      expect(again.id).toBe(first.id);
    }
    let holders = 0;
    for (let shard = 0; shard < SHARDS; shard++) {
      await runInDurableObject(shardObject(shard), (instance) => {
        const state = (instance as unknown as { state: { jobs: Map<string, unknown> } }).state;
        if (state.jobs.has(first.id)) holders++;
      });
    }
    expect(holders).toBe(1);
  });

  it("refuses a shard key that names no shard, or the wrong shard, and changes nothing", async () => {
    const byShard = await agentsPerShard(1);
    const agent = byShard[1]?.[0];
    if (!agent) throw new Error("no agent in shard 1");
    const withShard = async (key: string): Promise<Response> => {
      const signed = await agent.signedRequest("/v1/agent/poll", { running: [], waitMs: 0 });
      const headers = new Headers(signed.headers);
      headers.set("x-meridian-shard", key);
      return exports.default.fetch(new Request(signed, { headers }));
    };
    const before = await storedKeys();
    for (const key of [`${REGION}#3`, `${REGION}#-1`, `${REGION}#01`, "us-east#0", REGION, `${REGION}#x`])
      await expectError(await withShard(key), 404, "unknown_shard");
    const wrong = await withShard(`${REGION}#2`);
    const body = (await wrong.json()) as {
      error: { code: string; message: string; details?: { shard?: string } };
    };
    expect(wrong.status).toBe(409);
    expect(body.error.code).toBe("wrong_shard");
    expect(body.error.details?.shard).toBe(`${REGION}#1`);
    expect(await storedKeys()).toEqual(before);
    // Its own shard's key is taken.
    expect((await withShard(`${REGION}#1`)).status).toBe(200);

    // A Region object reached for a node of another shard refuses it before its nonce is spent.
    const caller = {
      publicKey: await publicKeyOf(agent.secretKey),
      nodeId: agent.nodeId,
      nonce: "1111111111111111",
      timestamp: Date.now(),
    };
    const keys = await storedKeys();
    const answer = await shardObject(0).poll(caller, { running: [], acceptingWork: true, waitMs: 0 });
    expect(answer).toMatchObject({ ok: false, status: 409, code: "wrong_shard" });
    expect(await storedKeys()).toEqual(keys);
  });
});

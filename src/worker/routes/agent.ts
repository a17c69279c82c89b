import { drizzle } from "drizzle-orm/d1";
import { type Context, Hono } from "hono";
import type { RegionObject } from "../../durable/region-object.js";
import { type RpcResult, unwrap } from "../../durable/rpc-result.js";
import { runBatch } from "../../ledger/ledger-db.js";
import { nodeOwnerStatement } from "../../ledger/node-owners.js";
import {
  AttemptId,
  AttemptReport,
  PollRequest,
  ReclaimRequest,
  type ReclaimResponse,
  RegisterRequest,
} from "../../shared/agent-protocol.js";
import { MeridianError } from "../../shared/errors.js";
import { ChallengeId } from "../../shared/verification/messages.js";
import { agentAuth } from "../agent-auth.js";
import type { AppEnv } from "../hono-env.js";
import { parseJsonText, parseOrThrow } from "../json-body.js";
import { storedLogOffsets } from "../log-offsets.js";
import { chooseRegion, regionStub } from "../region-routing.js";
import { accountOfAuthorization } from "../require-account.js";
import { agentStorageRoutes } from "./agent-storage.js";

function registeredRegion(region: string): string {
  if (!region)
    throw new MeridianError(400, "missing_region", "send the x-meridian-region header given at registration");
  return region;
}

/**
 * The region a registration goes to must be the one its signature names, so a captured register
 * cannot be replayed to another region (nonces are remembered per region). An agent that lets the
 * control plane choose learns the choice from this refusal and signs again naming it.
 */
function boundRegion(signed: string, chosen: string): string {
  if (signed === chosen) return chosen;
  throw new MeridianError(
    409,
    "region_not_signed",
    signed
      ? `the request is signed for region ${signed} but registers in ${chosen}`
      : `sign the registration for region ${chosen} (x-meridian-region)`,
    { region: chosen },
  );
}

/**
 * One step of a proof-of-GPU challenge (ready, commit, answer): the Region object checks the body
 * against the challenge's state, so it is passed on as parsed JSON.
 */
async function challengeStep<T>(
  c: Context<AppEnv>,
  step: (
    region: DurableObjectStub<RegionObject>,
    agent: AppEnv["Variables"]["agent"],
    challengeId: string,
    body: unknown,
  ) => Promise<RpcResult<T>>,
): Promise<Response> {
  const agent = c.get("agent");
  const challengeId = parseOrThrow(ChallengeId, c.req.param("challengeId"), "challenge id");
  const region = regionStub(c.env, registeredRegion(agent.region));
  return c.json(unwrap(await step(region, agent, challengeId, parseJsonText(agent.body))) as object);
}

/** Routes the host agents call; every one is signed (agentAuth). */
export const agentRoutes = new Hono<AppEnv>()
  .use(agentAuth)
  .post("/register", async (c) => {
    const agent = c.get("agent");
    const body = parseOrThrow(RegisterRequest, parseJsonText(agent.body), "registration");
    const region = boundRegion(agent.region, chooseRegion(c, body.region));
    const uuids = body.hardware.gpus.map((gpu) => gpu.uuid);
    const repeated = uuids.find((uuid, i) => uuids.indexOf(uuid) !== i);
    if (repeated !== undefined) {
      throw new MeridianError(400, "duplicate_gpu_uuid", `GPU uuid ${repeated} is reported twice`, {
        uuid: repeated,
      });
    }
    // A provider's API key alongside the signature names the account that owns (is paid for) the node.
    const authorization = c.req.header("authorization");
    const owner =
      authorization === undefined ? undefined : await accountOfAuthorization(c.env.DB, authorization);
    const registered = unwrap(await regionStub(c.env, region).register(agent, body));
    if (owner !== undefined) {
      const db = drizzle(c.env.DB);
      await runBatch(db, [nodeOwnerStatement(db, registered.nodeId, owner)]);
    }
    return c.json(registered);
  })
  .post("/poll", async (c) => {
    const agent = c.get("agent");
    const body = parseOrThrow(PollRequest, parseJsonText(agent.body), "poll");
    return c.json(unwrap(await regionStub(c.env, registeredRegion(agent.region)).poll(agent, body)));
  })
  .post("/reclaim", async (c) => {
    const agent = c.get("agent");
    const body = parseOrThrow(ReclaimRequest, parseJsonText(agent.body), "reclaim");
    const answer = unwrap(await regionStub(c.env, registeredRegion(agent.region)).reclaim(agent, body));
    const keep = await Promise.all(
      answer.keep.map(async (kept) => ({
        ...kept,
        logOffsets: await storedLogOffsets(c.env.DB, kept.assignment.jobId, kept.assignment.attemptId),
      })),
    );
    return c.json({ keep, drop: answer.drop } satisfies ReclaimResponse);
  })
  .post("/challenges/:challengeId/ready", (c) =>
    challengeStep(c, (r, a, id, body) => r.readyChallenge(a, id, body)),
  )
  .post("/challenges/:challengeId/commit", (c) =>
    challengeStep(c, (r, a, id, body) => r.commitChallenge(a, id, body)),
  )
  .post("/challenges/:challengeId/answer", (c) =>
    challengeStep(c, (r, a, id, body) => r.answerChallenge(a, id, body)),
  )
  .post("/attempts/:attemptId/report", async (c) => {
    const agent = c.get("agent");
    const attemptId = parseOrThrow(AttemptId, c.req.param("attemptId"), "attempt id");
    const body = parseOrThrow(AttemptReport, parseJsonText(agent.body), "report");
    return c.json(
      unwrap(await regionStub(c.env, registeredRegion(agent.region)).report(agent, attemptId, body)),
    );
  })
  .route("/attempts", agentStorageRoutes);

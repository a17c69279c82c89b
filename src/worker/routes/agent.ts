import { drizzle } from "drizzle-orm/d1";
import { type Context, Hono } from "hono";
import { PRESENCE_CALLER_HEADER } from "../../durable/presence-sockets.js";
import type { RegionObject } from "../../durable/region-object.js";
import { type RpcResult, unwrap } from "../../durable/rpc-result.js";
import { runBatch } from "../../ledger/ledger-db.js";
import { nodeOwnerStatement } from "../../ledger/node-owners.js";
import {
  AgentSession,
  AttemptId,
  AttemptReport,
  PollRequest,
  PollResponse,
  ReclaimRequest,
  ReclaimResponse,
  RegisterRequest,
  RegisterResponse,
  ReportResponse,
} from "../../shared/agent-protocol.js";
import { MeridianError } from "../../shared/errors.js";
import { ChallengeVerdictView } from "../../shared/provider-api.js";
import {
  ChallengeId,
  ChallengeReady,
  ChallengeRelease,
  SpotCheckRequest,
  VerificationAnswer,
  VerificationCommit,
} from "../../shared/verification/messages.js";
import { agentAuth } from "../agent-auth.js";
import { flagCrossRegionTwins } from "../cross-region-twins.js";
import type { AppEnv } from "../hono-env.js";
import { parseJsonText, parseOrThrow } from "../json-body.js";
import { locationFact } from "../node-location-fact.js";
import { doc } from "../openapi/route-doc.js";
import { agentStub, chooseRegion, SHARD_HEADER } from "../region-routing.js";
import { accountOfAuthorization } from "../require-account.js";
import { storedLogOffsets } from "../storage/log-store.js";
import { agentStorageRoutes } from "./agent-storage.js";

function registeredRegion(region: string): string {
  if (!region)
    throw new MeridianError(400, "missing_region", "send the x-meridian-region header given at registration");
  return region;
}

/** The agent's node's shard of `region` (region-routing.ts: its key's node id, `x-meridian-shard`). */
function ownShard(c: Context<AppEnv>, region: string): Promise<DurableObjectStub<RegionObject>> {
  return agentStub(c.env, region, c.get("agent").publicKey, c.req.header(SHARD_HEADER));
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
  const region = await ownShard(c, registeredRegion(agent.region));
  return c.json(unwrap(await step(region, agent, challengeId, parseJsonText(agent.body))) as object);
}

/** Routes the host agents call; every one is signed (agentAuth). */
export const agentRoutes = new Hono<AppEnv>()
  .use(agentAuth)
  .post(
    "/register",
    doc({
      id: "agentRegister",
      tag: "Agent",
      summary: "Register a node",
      description:
        "Signed by the node's ed25519 key. An API key alongside names the account that owns the node.",
      auth: "agent",
      body: RegisterRequest,
      response: { schema: RegisterResponse },
      errors: [409],
    }),
    async (c) => {
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
      const location = locationFact(body.location, c.req.raw);
      const registered = unwrap(await (await ownShard(c, region)).register(agent, body, location));
      // One GPU answering for nodes in several regions: each region alone cannot see it.
      await flagCrossRegionTwins(c.env, registered, uuids);
      if (owner !== undefined) {
        const db = drizzle(c.env.DB);
        await runBatch(db, [nodeOwnerStatement(db, registered.nodeId, owner)]);
      }
      return c.json(registered);
    },
  )
  .post(
    "/poll",
    doc({
      id: "agentPoll",
      tag: "Agent",
      summary: "Long-poll for work (the heartbeat)",
      auth: "agent",
      body: PollRequest,
      response: { schema: PollResponse },
      errors: [409],
    }),
    async (c) => {
      const agent = c.get("agent");
      const body = parseOrThrow(PollRequest, parseJsonText(agent.body), "poll");
      const region = await ownShard(c, registeredRegion(agent.region));
      // A held poll whose connection closes before its answer is the first sign of a dead agent:
      // the region hears of it at once (request.signal, flag enable_request_signal), not at a lease.
      const signal = c.req.raw.signal;
      const nodeId = agent.nodeId;
      const dropped = (): void => {
        if (nodeId) c.executionCtx.waitUntil(region.pollDropped(nodeId, agent.nonce).catch(() => undefined));
      };
      signal.addEventListener("abort", dropped, { once: true });
      try {
        return c.json(unwrap(await region.poll(agent, body)));
      } finally {
        signal.removeEventListener("abort", dropped);
      }
    },
  )
  .get(
    "/presence",
    doc({
      id: "agentPresence",
      tag: "Agent",
      summary: "The presence WebSocket",
      description:
        "Signed like every agent request, then upgraded: the agent keeps it open so its region hears at once when it goes away. Without `Upgrade: websocket` it answers 400 `upgrade_required`.",
      auth: "agent",
      response: { status: 101, description: "Switching to the WebSocket" },
      errors: [400, 409],
    }),
    async (c) => {
      // A WebSocket the agent keeps open; its region hears it close the moment the agent dies.
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
        throw new MeridianError(400, "upgrade_required", "open /v1/agent/presence as a WebSocket");
      const agent = c.get("agent");
      const region = await ownShard(c, registeredRegion(agent.region));
      // The session is part of the signed URL; one live agent per node (agent-protocol.ts).
      const session = c.req.query("session");
      const caller = {
        publicKey: agent.publicKey,
        nodeId: agent.nodeId,
        nonce: agent.nonce,
        timestamp: agent.timestamp,
        ...(session === undefined ? {} : { session: parseOrThrow(AgentSession, session, "session") }),
      };
      return region.fetch("https://region/presence", {
        headers: { upgrade: "websocket", [PRESENCE_CALLER_HEADER]: JSON.stringify(caller) },
      });
    },
  )
  .post(
    "/reclaim",
    doc({
      id: "agentReclaim",
      tag: "Agent",
      summary: "Which found containers are still this node's (after a restart)",
      description:
        "Before its first poll, a restarted agent lists the attempt containers it found; kept attempts get a renewed lease and the offsets their stored output ends at, the rest are removed.",
      auth: "agent",
      body: ReclaimRequest,
      response: { schema: ReclaimResponse },
    }),
    async (c) => {
      const agent = c.get("agent");
      const body = parseOrThrow(ReclaimRequest, parseJsonText(agent.body), "reclaim");
      const shard = await ownShard(c, registeredRegion(agent.region));
      const answer = unwrap(await shard.reclaim(agent, body));
      const keep = await Promise.all(
        answer.keep.map(async (kept) => ({
          ...kept,
          logOffsets: await storedLogOffsets(c.env.DB, kept.assignment.jobId, kept.assignment.attemptId),
        })),
      );
      return c.json({ keep, drop: answer.drop } satisfies ReclaimResponse);
    },
  )
  .post(
    "/challenges/:challengeId/ready",
    doc({
      id: "agentChallengeReady",
      tag: "Agent",
      summary: "Ready for a proof-of-GPU challenge (releases its seed)",
      auth: "agent",
      body: ChallengeReady,
      response: { schema: ChallengeRelease },
    }),
    (c) => challengeStep(c, (r, a, id, body) => r.readyChallenge(a, id, body)),
  )
  .post(
    "/challenges/:challengeId/commit",
    doc({
      id: "agentChallengeCommit",
      tag: "Agent",
      summary: "Commit a challenge's results (answers the spot checks to open)",
      auth: "agent",
      body: VerificationCommit,
      response: { schema: SpotCheckRequest },
    }),
    (c) => challengeStep(c, (r, a, id, body) => r.commitChallenge(a, id, body)),
  )
  .post(
    "/challenges/:challengeId/answer",
    doc({
      id: "agentChallengeAnswer",
      tag: "Agent",
      summary: "Answer a challenge's spot checks (answers the verdict)",
      auth: "agent",
      body: VerificationAnswer,
      response: { schema: ChallengeVerdictView },
    }),
    (c) => challengeStep(c, (r, a, id, body) => r.answerChallenge(a, id, body)),
  )
  .post(
    "/attempts/:attemptId/report",
    doc({
      id: "agentReport",
      tag: "Agent",
      summary: "Report an attempt's start, logs or exit",
      auth: "agent",
      body: AttemptReport,
      response: { schema: ReportResponse },
    }),
    async (c) => {
      const agent = c.get("agent");
      const attemptId = parseOrThrow(AttemptId, c.req.param("attemptId"), "attempt id");
      const body = parseOrThrow(AttemptReport, parseJsonText(agent.body), "report");
      return c.json(
        unwrap(await (await ownShard(c, registeredRegion(agent.region))).report(agent, attemptId, body)),
      );
    },
  )
  .route("/attempts", agentStorageRoutes);

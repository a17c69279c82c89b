import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { decideDispute, disputeOfAttempt, fileDispute, listDisputes } from "../../ledger/disputes.js";
import { refundOf } from "../../ledger/refund.js";
import {
  AttemptList,
  DisputeBody,
  DisputeDecisionBody,
  DisputeList,
  DisputeListQuery,
  DisputeView,
} from "../../shared/dispute-api.js";
import { MeridianError } from "../../shared/errors.js";
import { idPattern } from "../../shared/ids.js";
import { attemptViews, disputeView, disputeViews } from "../attempt-views.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { jsonBody, queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { requireOperator } from "../operator-auth.js";

const ATTEMPT_ID = idPattern("att");
const DISPUTE_ID = idPattern("dsp");

const SAMPLE_DISPUTE: DisputeView = {
  id: "dsp_01jf0000000000000000000000",
  jobId: "job_01jf0000000000000000000000",
  attemptId: "att_01jf0000000000000000000000",
  nodeId: "node_0000000000000000000000000a",
  state: "refunded",
  reason: "the job failed at once on this node and ran fine on another",
  resolution: "same_spec_succeeded_elsewhere",
  decidedBy: "rule",
  createdAt: "2026-12-01T08:00:00.000Z",
  decidedAt: "2026-12-01T08:00:00.000Z",
  refund: {
    cause: "same_spec_succeeded_elsewhere",
    refunded: "0.02",
    refundedMicros: 16667,
    unrecoveredMicros: 0,
    at: "2026-12-01T08:00:00.000Z",
  },
};

function attemptParam(value: string, jobId: string): string {
  if (!ATTEMPT_ID.test(value)) {
    throw new MeridianError(404, "attempt_not_found", `job ${jobId} has no attempt ${value.slice(0, 64)}`);
  }
  return value;
}

/** A job's attempts and the disputes of their charges, under /v1/jobs (an API key's own jobs). */
export const jobAttemptRoutes = new Hono<AppEnv>()
  .get(
    "/:id/attempts",
    doc({
      id: "listJobAttempts",
      tag: "Jobs",
      summary: "A job's attempts: where each ran, what it ran, and what it cost",
      description:
        "Each attempt's node and GPUs, the region's own timestamps, the container id and image digest the agent reported, its charge, any refund, and its dispute.",
      response: { schema: AttemptList },
    }),
    async (c) => {
      const job = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
      return c.json({ attempts: await attemptViews(drizzle(c.env.DB), job.id) });
    },
  )
  .post(
    "/:id/attempts/:attempt/dispute",
    doc({
      id: "disputeAttemptCharge",
      tag: "Jobs",
      summary: "Dispute an attempt's charge",
      description:
        "Within 7 days of the attempt's end. Where the evidence shows the node at fault (it failed early what another node ran to success, or never reported the image it ran) the charge is refunded at once; otherwise the dispute waits for the operator.",
      body: DisputeBody,
      bodyExample: { reason: "the job failed at once on this node and ran fine on another" },
      response: { schema: DisputeView, status: 201, example: SAMPLE_DISPUTE },
      errors: [409],
    }),
    async (c) => {
      const job = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
      const attemptId = attemptParam(c.req.param("attempt"), job.id);
      const body = await jsonBody(c, DisputeBody);
      const db = drizzle(c.env.DB);
      const row = await fileDispute(db, {
        accountId: c.get("accountId"),
        jobId: job.id,
        attemptId,
        reason: body.reason,
      });
      return c.json(disputeView(row, await refundOf(db, attemptId)), 201);
    },
  )
  .get(
    "/:id/attempts/:attempt/dispute",
    doc({
      id: "getAttemptDispute",
      tag: "Jobs",
      summary: "The dispute of an attempt's charge",
      response: { schema: DisputeView, example: SAMPLE_DISPUTE },
    }),
    async (c) => {
      const job = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
      const attemptId = attemptParam(c.req.param("attempt"), job.id);
      const db = drizzle(c.env.DB);
      const row = await disputeOfAttempt(db, attemptId);
      if (!row || row.jobId !== job.id) {
        throw new MeridianError(404, "dispute_not_found", `attempt ${attemptId} has no dispute`);
      }
      return c.json(disputeView(row, await refundOf(db, attemptId)));
    },
  );

/** The operator's dispute queue and decisions, under /v1/operator/disputes. */
export const operatorDisputeRoutes = new Hono<AppEnv>()
  .get(
    "/",
    doc({
      id: "listDisputes",
      tag: "Operator",
      summary: "Disputes of charges, newest first",
      auth: "operator",
      query: DisputeListQuery,
      response: { schema: DisputeList },
    }),
    requireOperator,
    async (c) => {
      const query = queryOf(c, DisputeListQuery);
      const db = drizzle(c.env.DB);
      const rows = await listDisputes(db, query.state ? { state: query.state } : {});
      return c.json({ disputes: await disputeViews(db, rows) });
    },
  )
  .post(
    "/:id/decision",
    doc({
      id: "decideDispute",
      tag: "Operator",
      summary: "Decide an open dispute: refund the charge or reject the dispute",
      auth: "operator",
      body: DisputeDecisionBody,
      bodyExample: { decision: "refund", note: "the node's logs show the GPU fell off the bus" },
      response: { schema: DisputeView, example: SAMPLE_DISPUTE },
      errors: [409],
    }),
    requireOperator,
    async (c) => {
      const id = c.req.param("id");
      if (!DISPUTE_ID.test(id))
        throw new MeridianError(404, "dispute_not_found", `no dispute ${id.slice(0, 64)}`);
      const body = await jsonBody(c, DisputeDecisionBody);
      const db = drizzle(c.env.DB);
      const row = await decideDispute(db, id, body);
      return c.json(disputeView(row, await refundOf(db, row.attemptId)));
    },
  );

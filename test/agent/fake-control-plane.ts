import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Assignment, AttemptReport, StopOrder } from "../../src/shared/agent-protocol.js";
import {
  authorizationDigest,
  SIGNATURE_HEADERS,
  sha256Hex,
  verifyParts,
} from "../../src/shared/agent-signature.js";
import { MeridianError } from "../../src/shared/errors.js";
import { newId } from "../../src/shared/ids.js";
import {
  acceptAnswer,
  acceptCommit,
  acceptReady,
  type ChallengeRecord,
} from "../../src/shared/verification/challenge-lifecycle.js";
import type { VerificationChallenge, VerificationJudgement } from "../../src/shared/verification/messages.js";

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
  /** Whether the ed25519 signature over method, path, body digest, timestamp and nonce verified. */
  signatureValid: boolean;
}

export interface ReportAnswer {
  status: number;
  body: unknown;
}

/**
 * A stand-in for the control plane's /v1/agent routes, for unit tests of the work loop: it hands
 * out queued assignments and stop orders, records every request, and checks every signature. The
 * real control plane is exercised by the end-to-end tests.
 */
export class FakeControlPlane {
  readonly nodeId = newId("node");
  readonly requests: RecordedRequest[] = [];
  readonly reports: { attemptId: string; report: AttemptReport }[] = [];
  private readonly assignments: Assignment[] = [];
  private readonly stops: StopOrder[] = [];
  private readonly waiters: { test: () => boolean; resolve: () => void }[] = [];
  private server: Server | undefined;
  private readonly pendingChallenges: VerificationChallenge[] = [];
  /** Every challenge's record, as the Region object would keep it (challenge-lifecycle.ts). */
  readonly challenges = new Map<string, ChallengeRecord>();
  readonly judgements: VerificationJudgement[] = [];
  /** Attempt ids the agent asked about in reclaims (each answered: not the node's any more). */
  readonly reclaimed: string[] = [];
  /** Unsigned GETs (health, price suggestions), recorded apart from the signed agent requests. */
  readonly gets: string[] = [];
  /** The answer to GET /v1/pricing/suggest; undefined answers 503. */
  suggestion: string | undefined;
  /** The answer to GET /v1/pricing/cpu/suggest; undefined answers 503. */
  cpuSuggestion: string | undefined;
  /** Answers the next poll with this instead of work (then forgets it). */
  failNextPoll: ReportAnswer | undefined;
  /** Decides the answer to a report; the default accepts it. */
  answerReport: (attemptId: string, report: AttemptReport) => ReportAnswer = () => ({
    status: 200,
    body: { accepted: true, stop: false },
  });

  async listen(): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { code: "internal", message: String(error) } }));
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  assign(assignment: Assignment): void {
    this.assignments.push(assignment);
  }

  stopAttempt(order: StopOrder): void {
    this.stops.push(order);
  }

  /** Resolves once `test` holds after some request (checked after each one). */
  until(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  /** Hands out a challenge with the next poll; its ready, commit and answer go by the real rules. */
  challenge(record: ChallengeRecord & { state: "issued" }): void {
    this.challenges.set(record.challenge.id, record);
    this.pendingChallenges.push(record.challenge);
  }

  reportsOf(attemptId: string): AttemptReport[] {
    return this.reports.filter((entry) => entry.attemptId === attemptId).map((entry) => entry.report);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = request.url ?? "/";
    if (request.method === "GET") {
      this.gets.push(path);
      this.answerGet(path, response);
      return;
    }
    const header = (name: string): string => String(request.headers[name] ?? "");
    const signatureValid = await verifyParts(
      header(SIGNATURE_HEADERS.publicKey),
      header(SIGNATURE_HEADERS.signature),
      {
        method: request.method ?? "",
        host: header("host"),
        pathAndQuery: path,
        region: header(SIGNATURE_HEADERS.region),
        authorization: await authorizationDigest(header("authorization")),
        bodySha256: await sha256Hex(new Uint8Array(raw)),
        timestamp: Number(header(SIGNATURE_HEADERS.timestamp)),
        nonce: header(SIGNATURE_HEADERS.nonce),
      },
    );
    const body: unknown = JSON.parse(raw.toString("utf8"));
    this.requests.push({ path, headers: request.headers, body, signatureValid });

    const send = (status: number, payload: unknown): void => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(payload));
      this.wake();
    };
    if (path === "/v1/agent/register") {
      send(200, { nodeId: this.nodeId, region: "eu-west", pollWaitMs: 300, leaseTtlMs: 30_000 });
      return;
    }
    if (path === "/v1/agent/poll") {
      const failure = this.failNextPoll;
      if (failure !== undefined) {
        this.failNextPoll = undefined;
        send(failure.status, failure.body);
        return;
      }
      // Hold the poll briefly when there is nothing to hand out, as the real one holds it longer.
      if (this.assignments.length === 0 && this.stops.length === 0 && this.pendingChallenges.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      send(200, {
        assignments: this.assignments.splice(0),
        stop: this.stops.splice(0),
        challenges: this.pendingChallenges.splice(0),
        nextPollDelayMs: 0,
      });
      return;
    }
    const challengeRoute = path.match(/^\/v1\/agent\/challenges\/([^/]+)\/(ready|commit|answer)$/);
    if (challengeRoute?.[1] !== undefined) {
      const id = decodeURIComponent(challengeRoute[1]);
      const record = this.challenges.get(id);
      if (record === undefined) {
        send(404, { error: { code: "challenge_mismatch", message: `no challenge ${id}` } });
        return;
      }
      const context = { nodeId: String(request.headers[SIGNATURE_HEADERS.nodeId] ?? ""), now: Date.now() };
      try {
        if (challengeRoute[2] === "ready") {
          const released = acceptReady(record, body, context);
          this.challenges.set(id, released.record);
          send(200, released.release);
        } else if (challengeRoute[2] === "commit") {
          const accepted = acceptCommit(record, body, context);
          this.challenges.set(id, accepted.record);
          send(200, accepted.request);
        } else {
          const judged = await acceptAnswer(record, body, context);
          this.challenges.set(id, judged.record);
          this.judgements.push(judged.judgement);
          send(200, { outcome: judged.judgement.outcome, judgement: judged.judgement });
        }
      } catch (error) {
        if (!(error instanceof MeridianError)) throw error;
        send(error.status, { error: { code: error.code, message: error.message } });
      }
      return;
    }
    if (path === "/v1/agent/reclaim") {
      // Keeps what a test says is still the node's; the rest the agent removes.
      const asked = (body as { attempts?: { attemptId: string }[] }).attempts ?? [];
      this.reclaimed.push(...asked.map((a) => a.attemptId));
      send(200, { keep: [] });
      return;
    }
    const match = path.match(/^\/v1\/agent\/attempts\/([^/]+)\/report$/);
    if (match?.[1] !== undefined) {
      const attemptId = decodeURIComponent(match[1]);
      const report = body as AttemptReport;
      this.reports.push({ attemptId, report });
      const answer = this.answerReport(attemptId, report);
      send(answer.status, answer.body);
      return;
    }
    send(404, { error: { code: "not_found", message: `no route ${path}` } });
  }

  private answerGet(path: string, response: ServerResponse): void {
    let status = 404;
    let payload: unknown = { error: { code: "not_found", message: `no route ${path}` } };
    if (path === "/v1/health") {
      status = 200;
      payload = { ok: true };
    } else if (path.startsWith("/v1/pricing/cpu/suggest")) {
      status = this.cpuSuggestion === undefined ? 503 : 200;
      payload =
        this.cpuSuggestion === undefined
          ? { error: { code: "unavailable", message: "no market" } }
          : { suggested: this.cpuSuggestion };
    } else if (path.startsWith("/v1/pricing/suggest")) {
      status = this.suggestion === undefined ? 503 : 200;
      payload =
        this.suggestion === undefined
          ? { error: { code: "unavailable", message: "no market" } }
          : { suggested: this.suggestion };
    }
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(payload));
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.test()) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

export function assignment(overrides: Partial<Assignment> = {}): Assignment {
  return {
    jobId: newId("job"),
    attemptId: newId("att"),
    fencing: 1,
    leaseExpiresAt: Date.now() + 30_000,
    image: "meridian/busybox:test",
    command: ["sh", "-c", "echo hello"],
    env: {},
    gpuUuids: [],
    cpus: 1,
    memoryMib: 128,
    timeoutSeconds: 120,
    ...overrides,
  };
}

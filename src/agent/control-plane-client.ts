import { z } from "zod";
import {
  type AttemptReport,
  type PollRequest,
  PollResponse,
  type ReclaimRequest,
  ReclaimResponse,
  type RegisterRequest,
  RegisterResponse,
  ReportResponse,
} from "../shared/agent-protocol.js";
import {
  authorizationDigest,
  newNonce,
  SIGNATURE_HEADERS,
  SIGNATURE_WINDOW_MS,
  sha256Hex,
  signParts,
} from "../shared/agent-signature.js";
import { ErrorEnvelope } from "../shared/errors.js";
import {
  type ChallengeReady,
  ChallengeRelease,
  SpotCheckRequest,
  type VerificationAnswer,
  type VerificationCommit,
  VerificationJudgement,
  VerificationOutcome,
} from "../shared/verification/messages.js";
import { type Clock, systemClock } from "./clock.js";

/** A refusal or failure from the control plane, carrying the error envelope's stable code. */
export class ControlPlaneError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ControlPlaneError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The answer to a challenge's spot-check answer: the verdict on this GPU. */
export const ChallengeResult = z.object({ outcome: VerificationOutcome, judgement: VerificationJudgement });
export type ChallengeResult = z.infer<typeof ChallengeResult>;

/**
 * Fresh signatures per request for refusals a new signature answers (needsNewSignature): more than
 * one, since a region can restart again while the first re-signed request is on its way.
 */
const MAX_RESIGNS = 3;

/** The control plane could not be reached at all (after retries). */
export const UNREACHABLE = "unreachable";

export interface ControlPlaneClientOptions {
  baseUrl: string;
  identity: { secretKey: Uint8Array; publicKeyBase58: string };
  clock?: Clock;
  fetch?: typeof fetch;
  /** Tries after the first, on network errors, 429 and 5xx. */
  retries?: number;
  /** First backoff delay; it doubles per retry, up to 5 s. */
  backoffMs?: number;
  /** Sent with registration only, so the control plane records which account owns the node. */
  ownerApiKey?: string;
}

interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  retries?: number;
}

/** The agent's side of /v1/agent: every request signed with the node key, every answer zod-parsed. */
export class ControlPlaneClient {
  private readonly baseUrl: string;
  private readonly identity: ControlPlaneClientOptions["identity"];
  private readonly clock: Clock;
  private readonly fetch: typeof fetch;
  private readonly retries: number;
  private readonly backoffMs: number;
  private node: { nodeId: string; region: string } | undefined;
  private readonly ownerApiKey: string | undefined;
  /** This process's session (agent-protocol.ts's AgentSession): a new one each time the agent starts. */
  readonly session = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");

  constructor(options: ControlPlaneClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.ownerApiKey = options.ownerApiKey;
    this.identity = options.identity;
    this.clock = options.clock ?? systemClock;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 250;
  }

  /** Later requests carry these as x-meridian-node and x-meridian-region. */
  setNode(nodeId: string, region: string): void {
    this.node = { nodeId, region };
  }

  /**
   * Signed for the region the body names; without one, the control plane names its choice in a
   * `region_not_signed` refusal and the registration is signed again for it (agent-signature.ts).
   */
  register(body: z.input<typeof RegisterRequest>, options: CallOptions = {}): Promise<RegisterResponse> {
    return this.call(
      "/v1/agent/register",
      { ...body, session: this.session },
      RegisterResponse,
      options,
      body.region ?? "",
    );
  }

  poll(body: PollRequest, options: CallOptions = {}): Promise<PollResponse> {
    return this.call("/v1/agent/poll", { ...body, session: this.session }, PollResponse, options);
  }

  /** After a restart: which of the attempt containers found are still this node's. */
  reclaim(body: ReclaimRequest, options: CallOptions = {}): Promise<ReclaimResponse> {
    return this.call("/v1/agent/reclaim", { ...body, session: this.session }, ReclaimResponse, options);
  }

  report(attemptId: string, body: AttemptReport, options: CallOptions = {}): Promise<ReportResponse> {
    return this.call(
      `/v1/agent/attempts/${encodeURIComponent(attemptId)}/report`,
      body,
      ReportResponse,
      options,
    );
  }

  /** A signed call to an attempt's storage routes (/v1/agent/attempts/:id/storage/…). */
  storage<T>(
    attemptId: string,
    step: string,
    body: unknown,
    schema: z.ZodType<T>,
    options: CallOptions = {},
  ): Promise<T> {
    return this.call(
      `/v1/agent/attempts/${encodeURIComponent(attemptId)}/storage/${step}`,
      body,
      schema,
      options,
    );
  }

  /** The benchmark is prepared; the answer is the seed and the commit deadline. */
  readyChallenge(body: ChallengeReady, options: CallOptions = {}): Promise<ChallengeRelease> {
    return this.call(
      `/v1/agent/challenges/${encodeURIComponent(body.challengeId)}/ready`,
      body,
      ChallengeRelease,
      options,
    );
  }

  /** The benchmark's commitment; the answer is the spot checks to open. */
  commitChallenge(body: VerificationCommit, options: CallOptions = {}): Promise<SpotCheckRequest> {
    return this.call(
      `/v1/agent/challenges/${encodeURIComponent(body.challengeId)}/commit`,
      body,
      SpotCheckRequest,
      options,
    );
  }

  answerChallenge(body: VerificationAnswer, options: CallOptions = {}): Promise<ChallengeResult> {
    return this.call(
      `/v1/agent/challenges/${encodeURIComponent(body.challengeId)}/answer`,
      body,
      ChallengeResult,
      options,
    );
  }

  private async call<T>(
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
    options: CallOptions,
    registerRegion?: string,
  ): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const { pathname, search } = new URL(url);
    const text = JSON.stringify(body);
    const bodySha256 = await sha256Hex(text);
    const retries = options.retries ?? this.retries;
    const { host } = new URL(url);
    const authorization =
      registerRegion !== undefined && this.ownerApiKey ? `Bearer ${this.ownerApiKey}` : undefined;
    let region = registerRegion ?? this.node?.region ?? "";
    let resigns = 0;
    let regionChosen = false;
    let failures = 0;
    for (;;) {
      // Fresh timestamp and nonce on every try: a nonce is single use, even for a retry.
      const headers = await this.sign({
        host,
        pathAndQuery: pathname + search,
        region,
        authorization,
        bodySha256,
      });
      const signals = [
        options.signal,
        options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined,
      ];
      let response: Response;
      let answer: string;
      try {
        response = await this.fetch(url, {
          method: "POST",
          headers,
          body: text,
          signal: AbortSignal.any(signals.filter((signal) => signal !== undefined)),
        });
        // The body is part of the answer: a read cut off (by this try's timeout, or a dropped
        // connection) is a failed try like a refused connection. Taken as an answer with no body,
        // a 401 lost its code and made a healthy agent register again.
        answer = await response.text();
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (failures++ < retries) {
          await this.backoff(failures, options.signal);
          continue;
        }
        const reason = error instanceof Error ? error.message : String(error);
        throw new ControlPlaneError(0, UNREACHABLE, `cannot reach the control plane at ${url}: ${reason}`);
      }
      if (response.ok) {
        const parsed = schema.safeParse(parseJson(answer));
        if (!parsed.success) {
          throw new ControlPlaneError(
            response.status,
            "bad_response",
            `unexpected answer from ${path} (${response.status}${describeBody(answer, parsed.error.issues[0])})`,
            parsed.error,
          );
        }
        return parsed.data;
      }
      const error = refusal(response.status, answer, path);
      if (resigns < MAX_RESIGNS && needsNewSignature(error)) {
        resigns += 1;
        // The next try signs again; a clock behind the region's first waits to pass its floor.
        const lag = notBefore(error) - this.clock.now();
        if (lag > 0) await this.clock.sleep(Math.min(lag, SIGNATURE_WINDOW_MS), options.signal);
        continue;
      }
      const chosen = chosenRegion(error);
      if (registerRegion === "" && chosen !== undefined && !regionChosen) {
        regionChosen = true;
        region = chosen;
        continue;
      }
      if ((error.status >= 500 || error.status === 429) && failures++ < retries) {
        await this.backoff(failures, options.signal);
        continue;
      }
      throw error;
    }
  }

  /**
   * The signed opening of the presence socket (GET /v1/agent/presence): a WebSocket the agent
   * keeps open to its region so that the region notices at once when the agent dies.
   */
  async presenceRequest(): Promise<{ url: string; headers: Record<string, string> }> {
    const url = `${this.baseUrl}/v1/agent/presence?session=${this.session}`;
    const { host, pathname, search } = new URL(url);
    const headers = await this.sign(
      {
        host,
        pathAndQuery: pathname + search,
        region: this.node?.region ?? "",
        authorization: undefined,
        bodySha256: await sha256Hex(""),
      },
      "GET",
    );
    delete headers["content-type"];
    return { url: url.replace(/^http/, "ws"), headers };
  }

  private async sign(
    target: {
      host: string;
      pathAndQuery: string;
      region: string;
      authorization: string | undefined;
      bodySha256: string;
    },
    method = "POST",
  ): Promise<Record<string, string>> {
    const timestamp = this.clock.now();
    const nonce = newNonce();
    const signature = await signParts(this.identity.secretKey, {
      method,
      host: target.host,
      pathAndQuery: target.pathAndQuery,
      region: target.region,
      authorization: await authorizationDigest(target.authorization),
      bodySha256: target.bodySha256,
      timestamp,
      nonce,
    });
    return {
      "content-type": "application/json",
      [SIGNATURE_HEADERS.publicKey]: this.identity.publicKeyBase58,
      ...(this.node ? { [SIGNATURE_HEADERS.nodeId]: this.node.nodeId } : {}),
      ...(target.region ? { [SIGNATURE_HEADERS.region]: target.region } : {}),
      ...(target.authorization ? { authorization: target.authorization } : {}),
      [SIGNATURE_HEADERS.timestamp]: String(timestamp),
      [SIGNATURE_HEADERS.nonce]: nonce,
      [SIGNATURE_HEADERS.signature]: signature,
    };
  }

  private backoff(failures: number, signal: AbortSignal | undefined): Promise<void> {
    const base = Math.min(5_000, this.backoffMs * 2 ** (failures - 1));
    // Jitter, so a region's agents do not all come back in the same instant after an outage.
    return this.clock.sleep(base / 2 + Math.random() * (base / 2), signal);
  }
}

/**
 * Refusals that a fresh signature answers: a timestamp outside the window (a request held up on
 * the way, a clock off), or one from before the region's restart (its nonce is forgotten there).
 */
function needsNewSignature(error: ControlPlaneError): boolean {
  return error.status === 401 && (error.code === "stale_signature" || error.code === "signed_before_restart");
}

/** The first timestamp a `signed_before_restart` refusal accepts; 0 when it names none. */
function notBefore(error: ControlPlaneError): number {
  const parsed = z.object({ notBefore: z.number().int().nonnegative() }).safeParse(error.details);
  return parsed.success ? parsed.data.notBefore : 0;
}

/** The region a `region_not_signed` refusal names, to sign the registration for. */
function chosenRegion(error: ControlPlaneError): string | undefined {
  if (error.status !== 409 || error.code !== "region_not_signed") return undefined;
  const parsed = z.object({ region: z.string().min(1).max(64) }).safeParse(error.details);
  return parsed.success ? parsed.data.region : undefined;
}

function refusal(status: number, text: string, path: string): ControlPlaneError {
  const envelope = ErrorEnvelope.safeParse(parseJson(text));
  if (envelope.success) {
    const { code, message, details } = envelope.data.error;
    return new ControlPlaneError(status, code, message, details);
  }
  // What came instead of an error envelope, so a log says what refused (a proxy, a cut-off body).
  return new ControlPlaneError(status, `http_${status}`, `${path} answered ${status}${describeBody(text)}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** For a log line: what came instead of a usable body (nothing, not JSON, or its first schema issue). */
function describeBody(text: string, issue?: z.core.$ZodIssue): string {
  if (text.trim() === "") return " with no body";
  const excerpt = text.trim().slice(0, 160);
  if (issue === undefined) return `: ${excerpt}`;
  return `, ${text.length} bytes; ${issue.path.join(".") || "the body"}: ${issue.message}: ${excerpt}`;
}

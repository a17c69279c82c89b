import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { AttemptReport, PollRequest, RegisterRequest } from "../../src/shared/agent-protocol.js";
import { UploadUrlsRequest } from "../../src/shared/storage/agent-storage-protocol.js";
import {
  ChallengeReady,
  VerificationAnswer,
  VerificationCommit,
} from "../../src/shared/verification/messages.js";
import { fuzzValue, hostileString, pathSegment } from "./fuzz-arbitraries.js";
import { dispatch } from "./fuzz-dispatch.js";
import { storedTotals } from "./fuzz-state.js";
import { H100, hardware, TestAgent } from "./support.js";

/** Cases per run (FUZZ_AGENT_CASES; .ci/run: 1,500, with fuzz-routes.test.ts's 8,500 = 10,000). */
const CASES = Number((env as { FUZZ_AGENT_CASES?: string }).FUZZ_AGENT_CASES || "300");

const ROUTES = [
  { path: "/v1/agent/register", body: RegisterRequest },
  { path: "/v1/agent/poll", body: PollRequest },
  { path: "/v1/agent/attempts/:attemptId/report", body: AttemptReport },
  { path: "/v1/agent/challenges/:challengeId/ready", body: ChallengeReady },
  { path: "/v1/agent/challenges/:challengeId/commit", body: VerificationCommit },
  { path: "/v1/agent/challenges/:challengeId/answer", body: VerificationAnswer },
  { path: "/v1/agent/attempts/:attemptId/storage/urls", body: UploadUrlsRequest },
] as const;

let agent: TestAgent;

beforeAll(async () => {
  agent = new TestAgent();
  await agent.register(hardware([H100]));
});

/** Never hold a long-poll open in a fuzz case: a valid poll would wait up to 20 s for work. */
function withoutWaiting(body: unknown): unknown {
  if (typeof body === "object" && body !== null && !Array.isArray(body) && "waitMs" in body) {
    return { ...body, waitMs: 0 };
  }
  return body;
}

describe("fuzzing the agent protocol with correctly signed, malformed messages", () => {
  it(`${CASES} signed cases: never a 5xx, errors in the envelope, a 4xx changes nothing stored`, async () => {
    let before = await storedTotals();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES).chain((route) =>
          fc.record({
            route: fc.constant(route),
            body: fuzzValue(route.body),
            attemptId: fc.oneof(fc.stringMatching(/^att_[0-9a-hjkmnp-tv-z]{26}$/), hostileString),
            challengeId: fc.oneof(fc.stringMatching(/^vch_[0-9a-f]{32}$/), hostileString),
          }),
        ),
        async ({ route, body, attemptId, challengeId }) => {
          const path = route.path
            .replace(":attemptId", pathSegment(attemptId))
            .replace(":challengeId", pathSegment(challengeId));
          // The test agent reads `region` off a registration body; a null one would throw here, not there.
          const sent = withoutWaiting(body ?? 0);
          const response = await dispatch(await agent.signedRequest(path, sent));
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const label = `${path} ${JSON.stringify(sent)?.slice(0, 300)}`;
          expect(response.status, label).toBeLessThan(500);
          if (response.status >= 400) {
            const error = (await response.json()) as { error?: { code?: unknown } };
            expect(typeof error.error?.code, label).toBe("string");
          } else {
            await response.body?.cancel();
          }
          const after = await storedTotals();
          if (response.status >= 400) expect(after, `${label} answered ${response.status}`).toEqual(before);
          before = after;
        },
      ),
      { numRuns: CASES, seed: Number((env as { FUZZ_SEED?: string }).FUZZ_SEED || Date.now() % 2 ** 31) },
    );
    expect((await storedTotals()).ledgerBalanceSum).toBe(0);
    console.log(
      `fuzz agent: ${CASES} cases, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );
  }, 900_000);
});

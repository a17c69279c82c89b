import { recordJudgement } from "../chain/judgement-records.js";
import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationJudgement,
} from "../shared/verification/messages.js";
import { answering, authenticate, type RegionContext } from "./region-context.js";
import type { AgentCaller } from "./region-records.js";
import type { DeviceRegistry } from "./verification/device-holder.js";

/**
 * The GPU verification challenge's steps an agent takes (ready, commit, answer), and the
 * judgements they and the alarm's expiries give: each moves the judged node's standing, and the
 * nodes it touched are indexed again before anything else is placed.
 */
export class ChallengeCalls {
  constructor(
    private readonly region: () => RegionContext,
    /** Every attested GPU in the network (D1): one device enrolled in two regions is a twin. */
    private readonly devices?: DeviceRegistry,
  ) {}

  /** The agent has prepared for a challenge: it gets the seed, and the commit window starts. */
  async ready(caller: AgentCaller, challengeId: string, body: unknown): Promise<ChallengeRelease> {
    const region = this.region();
    const now = Date.now();
    const node = authenticate(region, caller, now);
    return answering(region, node.id, caller.nonce, async () => {
      const release = region.standing.desk.ready(node.id, challengeId, body, now);
      // save() re-arms the alarm: it must now wake at the commit deadline, before the setup one.
      await region.save();
      return release;
    });
  }

  /** The agent committed to a challenge's result: it gets the spot checks to answer. */
  async commit(caller: AgentCaller, challengeId: string, body: unknown): Promise<SpotCheckRequest> {
    const region = this.region();
    const now = Date.now();
    const node = authenticate(region, caller, now);
    return answering(region, node.id, caller.nonce, async () => {
      const request = region.standing.desk.commit(node.id, challengeId, body, now);
      await region.save();
      return request;
    });
  }

  /** The agent opened the rows asked for: the GPU is judged, and the node's standing follows. */
  async answer(
    caller: AgentCaller,
    challengeId: string,
    body: unknown,
  ): Promise<{ outcome: VerificationJudgement["outcome"]; judgement: VerificationJudgement }> {
    const region = this.region();
    const node = authenticate(region, caller, Date.now());
    return answering(region, node.id, caller.nonce, async () => {
      const devices = this.devices;
      const claim = devices
        ? (deviceId: string, gpuUuid: string) =>
            devices.claim(deviceId, { nodeId: node.id, region: region.state.region, gpuUuid }, Date.now())
        : undefined;
      const judgement = await region.standing.desk.answer(node.id, challengeId, body, Date.now(), claim);
      this.judged([judgement], Date.now());
      await region.save();
      return { outcome: judgement.outcome, judgement };
    });
  }

  /** The alarm's part: challenges past their windows are judged, and nodes due one are woken. */
  sweep(now: number): void {
    const { standing, waiters } = this.region();
    this.judged(standing.desk.expire(now), now);
    for (const nodeId of standing.desk.dueNodes(now)) waiters.wake(nodeId);
  }

  private judged(judgements: readonly VerificationJudgement[], now: number): void {
    const { standing, state } = this.region();
    for (const judgement of judgements) {
      standing.judged(judgement, now);
      recordJudgement(state, standing, judgement, now);
    }
    if (judgements.length > 0) state.standingChanged(new Set(judgements.map((j) => j.nodeId)), now);
  }
}

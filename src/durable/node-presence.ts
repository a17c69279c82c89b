/**
 * How the region tells a dead or cut-off node from a slow one, per node, in memory only.
 *
 * A node keeps one poll held open to its region. While one is open the node is present. When a
 * held poll's connection drops (the agent died or its link reset, and the Worker saw the request
 * aborted) the node has `reconnectWindowMs` to poll again before it is declared gone. When a held
 * poll was answered and no new poll follows (a partition: no reset, no close), the silence is
 * judged against the node's own rhythm — the gaps between an answer and its next poll, learned as
 * a mean and variance — with a phi accrual detector (Hayashibara et al.): a node on a slow link
 * has long, steady gaps and is not flapped; a silent one is caught after a few of its usual gaps.
 *
 * Silence is judged node by node, but a region that hears nobody is more likely the cause itself:
 * under a burst of submissions its inbox backs up, and every node's next request waits behind the
 * burst. While more nodes fell silent in the last `COLLECTIVE_WINDOW_MS` than are present (and at
 * least two did), silence loses no node; dropped connections and lapsed leases still do.
 */

export interface PresencePolicy {
  /** How long a dropped connection may take to come back before the node's attempts are lost. */
  reconnectWindowMs: number;
  /** The shortest silence ever judged fatal, whatever the rhythm (scheduling hiccups, GC pauses). */
  minSilenceMs: number;
  /** Suspicion (phi) at which silence is fatal: 8 is a chance of about 1 in 10^8 of being wrong. */
  phiThreshold: number;
}

export const RECONNECT_WINDOW_MS = 3_000;
export const MIN_SILENCE_MS = 5_000;
export const PHI_THRESHOLD = 8;

export const DEFAULT_PRESENCE_POLICY: PresencePolicy = {
  reconnectWindowMs: RECONNECT_WINDOW_MS,
  minSilenceMs: MIN_SILENCE_MS,
  phiThreshold: PHI_THRESHOLD,
};

/** Why a node is taken for gone. */
export type Absence =
  | { kind: "dropped"; nodeId: string; windowMs: number }
  | { kind: "silent"; nodeId: string; silentMs: number; usualGapMs: number };

interface Presence {
  /** Tokens of the polls held open now. */
  open: Set<string>;
  /** Since when nothing has been heard and no poll is open; null while one is. */
  quietSince: number | null;
  /** Whether the quiet began with an answered poll (so the next poll's gap is a sample). */
  afterAnswer: boolean;
  /** When its last held poll's connection dropped; null once it was heard from again. */
  droppedAt: number | null;
  /** The node's rhythm: answer-to-next-poll gaps (exponentially weighted). */
  meanGapMs: number;
  varGapMs: number;
  samples: number;
  /** The agent process (its AgentSession) that holds the node; null until one named itself. */
  session: string | null;
}

/** The rhythm assumed before a node has shown its own: an agent polls again within a second. */
const PRIOR_GAP_MS = 1_000;
const PRIOR_SD_MS = 500;
/** Weight of each new gap: about the last 20 gaps count. */
const ALPHA = 0.1;
/** How long past its limit a silence counts as one that began together with others'. */
export const COLLECTIVE_WINDOW_MS = 30_000;

/** phi at `y` standard deviations past the mean: −log10 of the chance of a gap that long (logistic approximation). */
function phiAt(y: number): number {
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  const p = y > 0 ? e / (1 + e) : 1 - 1 / (1 + e);
  return -Math.log10(Math.max(p, Number.MIN_VALUE));
}

/** How many standard deviations past the mean phi reaches `threshold` (phi grows with y). */
function deviationsFor(threshold: number): number {
  let low = 0;
  let high = 50;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (phiAt(mid) >= threshold) high = mid;
    else low = mid;
  }
  return high;
}

export class NodePresence {
  private readonly nodes = new Map<string, Presence>();
  private readonly deviations: number;
  /** Bumped by every change, so the collective judgement is counted once per time and state. */
  private version = 0;
  private collective = { at: Number.NaN, version: -1, value: false };

  constructor(readonly policy: PresencePolicy = DEFAULT_PRESENCE_POLICY) {
    this.deviations = deviationsFor(policy.phiThreshold);
  }

  private of(nodeId: string, now: number): Presence {
    this.version += 1;
    let presence = this.nodes.get(nodeId);
    if (!presence) {
      presence = {
        open: new Set(),
        quietSince: now,
        afterAnswer: false,
        droppedAt: null,
        meanGapMs: PRIOR_GAP_MS,
        varGapMs: PRIOR_SD_MS * PRIOR_SD_MS,
        samples: 0,
        session: null,
      };
      this.nodes.set(nodeId, presence);
    }
    return presence;
  }

  /** A request from the node that is not a held poll (registration, a report): it is alive. */
  heard(nodeId: string, now: number): void {
    const presence = this.of(nodeId, now);
    presence.droppedAt = null;
    if (presence.open.size === 0) this.quietFrom(presence, now);
  }

  /**
   * A request that is not a poll (registration, reclaim) was answered: the node's next request
   * comes one round trip later, so that gap is a sample of its rhythm too. Without it a node on a
   * slow link would be judged on the prior alone until its first poll was answered, and its
   * first few seconds (register, reclaim, first poll: each a full round trip) could pass the floor.
   */
  requestAnswered(nodeId: string, now: number): void {
    this.version += 1;
    const presence = this.nodes.get(nodeId);
    if (!presence || presence.open.size > 0 || presence.droppedAt !== null) return;
    presence.quietSince = now;
    presence.afterAnswer = true;
  }

  /** Quiet starts again now; a gap that began with an answer is a sample of the node's rhythm. */
  private quietFrom(presence: Presence, now: number): void {
    if (presence.quietSince !== null && presence.afterAnswer)
      this.sample(presence, now - presence.quietSince);
    presence.quietSince = now;
    presence.afterAnswer = false;
  }

  /**
   * A heartbeat (its poll's, at the start or end of its hold): silence restarts, unless its
   * connection already dropped — a poll that outlived its own connection proves nothing.
   */
  touched(nodeId: string, now: number): void {
    const presence = this.of(nodeId, now);
    if (presence.open.size === 0 && presence.droppedAt === null) this.quietFrom(presence, now);
  }

  /** A poll arrived and is held under `token` until it is answered or dropped. */
  pollOpened(nodeId: string, token: string, now: number): void {
    const presence = this.of(nodeId, now);
    if (presence.quietSince !== null && presence.afterAnswer)
      this.sample(presence, now - presence.quietSince);
    presence.quietSince = null;
    presence.afterAnswer = false;
    presence.droppedAt = null;
    presence.open.add(token);
  }

  /** The poll was answered: the node should poll again about one of its usual gaps from now. */
  pollAnswered(nodeId: string, token: string, now: number): void {
    this.version += 1;
    const presence = this.nodes.get(nodeId);
    if (!presence?.open.delete(token) || presence.open.size > 0) return;
    presence.quietSince = now;
    presence.afterAnswer = true;
  }

  /** The held poll's connection dropped before its answer. False when that poll is no longer held. */
  pollDropped(nodeId: string, token: string, now: number): boolean {
    this.version += 1;
    const presence = this.nodes.get(nodeId);
    if (!presence?.open.delete(token)) return false;
    if (presence.open.size === 0) {
      presence.quietSince = now;
      presence.afterAnswer = false;
      presence.droppedAt = now;
    }
    return true;
  }

  /** The node's presence socket closed: whatever polls it held died with it. */
  connectionLost(nodeId: string, now: number): void {
    const presence = this.of(nodeId, now);
    presence.open.clear();
    presence.quietSince = now;
    presence.afterAnswer = false;
    presence.droppedAt = now;
  }

  /**
   * Whether the agent process `session` may speak for the node now. A node is held by the session
   * that last spoke for it while that session is live: a poll held open, or heard from within its
   * silence limit and not dropped since. Another session is then refused; once the holder is not
   * live (it died, its connection dropped, it fell silent) the next session takes the node over at
   * once, so a restarted agent keeps its attempts. A caller that names no session (older agents)
   * is let through and changes nothing.
   */
  admit(
    nodeId: string,
    session: string | undefined,
    now: number,
  ): { ok: true } | { ok: false; holder: string } {
    if (session === undefined) return { ok: true };
    const presence = this.of(nodeId, now);
    const holder = presence.session;
    if (holder !== null && holder !== session && this.live(presence, now)) return { ok: false, holder };
    presence.session = session;
    return { ok: true };
  }

  private live(presence: Presence, now: number): boolean {
    if (presence.open.size > 0) return true;
    if (presence.droppedAt !== null || presence.quietSince === null) return false;
    return now - presence.quietSince < this.silenceLimitMs(presence);
  }

  /** Polls of the node held open now. */
  openPolls(nodeId: string): number {
    return this.nodes.get(nodeId)?.open.size ?? 0;
  }

  /** Whether the node's connection dropped and it has not been heard from since. */
  dropped(nodeId: string): boolean {
    return (this.nodes.get(nodeId)?.droppedAt ?? null) !== null;
  }

  /** Why the node is to be taken for gone now, or null while it is present (or may still be). */
  absence(nodeId: string, now: number): Absence | null {
    const presence = this.nodes.get(nodeId);
    if (!presence || presence.open.size > 0 || presence.quietSince === null) return null;
    const { reconnectWindowMs } = this.policy;
    if (presence.droppedAt !== null) {
      return now - presence.droppedAt >= reconnectWindowMs
        ? { kind: "dropped", nodeId, windowMs: reconnectWindowMs }
        : null;
    }
    const silentMs = now - presence.quietSince;
    if (silentMs < this.silenceLimitMs(presence)) return null;
    if (this.silenceIsCollective(now)) return null;
    return { kind: "silent", nodeId, silentMs, usualGapMs: presence.meanGapMs };
  }

  /**
   * Whether more nodes fell silent past their limits in the last `COLLECTIVE_WINDOW_MS` than are
   * present now, two at least: then the region is the likelier one that stopped hearing (see the
   * top of this file). Counted once per time and state: one pass over the nodes per sweep.
   */
  silenceIsCollective(now: number): boolean {
    const cached = this.collective;
    if (cached.at === now && cached.version === this.version) return cached.value;
    let silent = 0;
    let present = 0;
    for (const presence of this.nodes.values()) {
      if (presence.open.size > 0) present += 1;
      else if (presence.droppedAt === null && presence.quietSince !== null) {
        const quietMs = now - presence.quietSince;
        const limitMs = this.silenceLimitMs(presence);
        if (quietMs < limitMs) present += 1;
        else if (quietMs < limitMs + COLLECTIVE_WINDOW_MS) silent += 1;
      }
    }
    const value = silent >= 2 && silent > present;
    this.collective = { at: now, version: this.version, value };
    return value;
  }

  /** When `absence` would first answer for the node, if nothing is heard from it before; null if never. */
  deadline(nodeId: string, now?: number): number | null {
    const presence = this.nodes.get(nodeId);
    if (!presence || presence.open.size > 0 || presence.quietSince === null) return null;
    if (presence.droppedAt !== null) return presence.droppedAt + this.policy.reconnectWindowMs;
    const at = presence.quietSince + this.silenceLimitMs(presence);
    // Past its limit in a collective silence: judged once the window is over, not woken for now.
    if (now !== undefined && at <= now && this.silenceIsCollective(now)) return at + COLLECTIVE_WINDOW_MS;
    return at;
  }

  forget(nodeId: string): void {
    this.version += 1;
    this.nodes.delete(nodeId);
  }

  /** The silence at which phi reaches the threshold, and never under the floor. */
  private silenceLimitMs(presence: Presence): number {
    const mean = presence.meanGapMs;
    // A very regular node would otherwise be judged on a hair: the spread is at least a quarter of
    // its mean gap, and a tenth of a second.
    const sd = Math.max(Math.sqrt(presence.varGapMs), mean / 4, 100);
    return Math.max(this.policy.minSilenceMs, Math.ceil(mean + this.deviations * sd));
  }

  private sample(presence: Presence, gapMs: number): void {
    if (presence.samples === 0) {
      presence.meanGapMs = gapMs;
      presence.varGapMs = Math.max(presence.varGapMs, (gapMs / 2) ** 2);
    } else {
      const diff = gapMs - presence.meanGapMs;
      presence.meanGapMs += ALPHA * diff;
      presence.varGapMs = (1 - ALPHA) * (presence.varGapMs + ALPHA * diff * diff);
    }
    presence.samples += 1;
  }
}

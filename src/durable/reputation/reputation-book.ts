import { MeridianError } from "../../shared/errors.js";
import { countFailure, countFlap, lift, quarantine, type ReputationStatus, statusOf } from "./penalties.js";
import type { ReputationEvent } from "./reputation-event.js";
import { DEFAULT_REPUTATION_POLICY, type ReputationPolicy } from "./reputation-policy.js";
import { type ReputationComponents, scoreOf } from "./reputation-score.js";
import {
  advance,
  newReputationState,
  type ReputationState,
  type ReputationTotals,
} from "./reputation-state.js";

/** What `GET /v1/provider/nodes/:id/reputation` shows. */
export interface ReputationView {
  nodeId: string;
  score: number;
  confidence: number;
  components: ReputationComponents;
  status: ReputationStatus;
  /** End of the quarantine, when quarantined. */
  until?: number;
  /** Why the node is quarantined or expelled. */
  reason?: string;
  totals: ReputationTotals;
}

/** Storage writes owed since the last `takeChanges`: one key per node. */
export interface ReputationChanges {
  puts: Record<string, ReputationState>;
  deletes: string[];
}

/**
 * Every node's reputation in a region. Pure and synchronous: the Region object feeds it events
 * with their time, reads scores when it builds scheduler facts, and writes `takeChanges()` to its
 * storage with the rest of a method's changes. Only events change state; reading never does, so a
 * quiet node costs nothing.
 */
export class ReputationBook {
  private readonly states = new Map<string, ReputationState>();
  private readonly changed = new Set<string>();
  private readonly removed = new Set<string>();
  readonly policy: ReputationPolicy;

  constructor(policy: Partial<ReputationPolicy> = {}) {
    this.policy = { ...DEFAULT_REPUTATION_POLICY, ...policy };
  }

  /** Rebuilds a book from stored states (by node id), with nothing dirty. */
  static from(json: Record<string, ReputationState>, policy: Partial<ReputationPolicy> = {}): ReputationBook {
    const book = new ReputationBook(policy);
    for (const [nodeId, state] of Object.entries(json)) book.states.set(nodeId, structuredClone(state));
    return book;
  }

  toJSON(): Record<string, ReputationState> {
    return Object.fromEntries([...this.states].map(([id, state]) => [id, structuredClone(state)]));
  }

  /** True when some node's state changed since the last `takeChanges`. */
  get dirty(): boolean {
    return this.changed.size > 0 || this.removed.size > 0;
  }

  /** The states to write (and node ids to delete) since the last call; clears the dirty marks. */
  takeChanges(): ReputationChanges {
    const puts: Record<string, ReputationState> = {};
    for (const id of this.changed) {
      const state = this.states.get(id);
      if (state) puts[id] = structuredClone(state);
    }
    const deletes = [...this.removed];
    this.changed.clear();
    this.removed.clear();
    return { puts, deletes };
  }

  /**
   * Applies one event at `now`. Returns whether anything changed (and so must be written): a
   * repeated `online`, or a cancelled or handed-back attempt, changes nothing.
   */
  record(nodeId: string, event: ReputationEvent, now: number): boolean {
    const before = this.states.get(nodeId);
    const state = advance(before ?? newReputationState(now), now, this.policy);
    const changed = this.apply(state, event, now);
    if (!changed) return false;
    this.states.set(nodeId, state);
    this.changed.add(nodeId);
    this.removed.delete(nodeId);
    return true;
  }

  private apply(state: ReputationState, event: ReputationEvent, now: number): boolean {
    const policy = this.policy;
    switch (event.type) {
      case "online":
      case "offline": {
        const online = event.type === "online";
        if (state.online === online) return false;
        state.online = online;
        return true;
      }
      case "flap":
        countFlap(state, now, policy);
        return true;
      case "acknowledged":
        state.ackWeight += 1;
        state.ackSumMs += Math.max(0, now - event.assignedAt);
        state.totals.acknowledged += 1;
        return true;
      case "verification":
        state[event.outcome] += 1;
        state.totals[event.outcome] += 1;
        // A node caught claiming hardware it does not have gets no work at once, whatever its past.
        if (event.outcome === "rejected") quarantine(state, now, "verification rejected", policy);
        return true;
      case "attempt":
        switch (event.end) {
          case "succeeded":
            state.successes += 1;
            state.totals.succeeded += 1;
            return true;
          case "lost":
          case "agent_error":
            state.failures += 1;
            if (event.end === "lost") state.totals.lost += 1;
            else state.totals.agentErrors += 1;
            // One host incident is one failure: a node that held nine attempts when it died is
            // not quarantined three times over (and so expelled) by a single crash.
            if (event.incident === undefined || event.incident !== state.lastIncident)
              countFailure(state, now, policy);
            if (event.incident === undefined) delete state.lastIncident;
            else state.lastIncident = event.incident;
            return true;
          case "user_failed":
          case "timed_out":
            state.totals.userFailures += 1;
            return true;
          case "cancelled":
          case "returned":
            return false;
        }
    }
  }

  /** 0..1 for the scheduler's `reputation`; the neutral prior for an unknown node, 0 if expelled. */
  score(nodeId: string, now: number): number {
    const state = this.states.get(nodeId);
    if (!state) return scoreOf(newReputationState(now), this.policy).score;
    if (state.expelledAt !== null) return 0;
    return scoreOf(advance(state, now, this.policy), this.policy).score;
  }

  status(nodeId: string, now: number): ReputationStatus {
    const state = this.states.get(nodeId);
    return state ? statusOf(state, now) : "active";
  }

  /** Whether the node may be given new work (not quarantined, not expelled). */
  eligible(nodeId: string, now: number): boolean {
    return this.status(nodeId, now) === "active";
  }

  view(nodeId: string, now: number): ReputationView {
    const stored = this.states.get(nodeId);
    const state = advance(stored ?? newReputationState(now), now, this.policy);
    const scored = scoreOf(state, this.policy);
    const status = statusOf(state, now);
    return {
      nodeId,
      score: state.expelledAt !== null ? 0 : scored.score,
      confidence: scored.confidence,
      components: scored.components,
      status,
      ...(status === "quarantined" && state.quarantinedUntil !== null
        ? { until: state.quarantinedUntil }
        : {}),
      ...(status !== "active" && state.penaltyReason !== null ? { reason: state.penaltyReason } : {}),
      totals: { ...state.totals },
    };
  }

  /** An operator lifts a quarantine or expulsion. Throws for a node the book has never seen. */
  lift(nodeId: string, now: number): ReputationView {
    const state = this.states.get(nodeId);
    if (!state) throw new MeridianError(404, "node_not_found", `no reputation is held for ${nodeId}`);
    lift(state);
    this.changed.add(nodeId);
    return this.view(nodeId, now);
  }

  /** The earliest quarantine end after `now`: arm the alarm then so placement sees the node again. */
  nextChangeAt(now: number): number | undefined {
    let next: number | undefined;
    for (const state of this.states.values()) {
      const until = state.quarantinedUntil;
      if (until !== null && until > now && state.expelledAt === null && (next === undefined || until < next))
        next = until;
    }
    return next;
  }

  /** Drops a node that left the region for good. */
  forget(nodeId: string): void {
    if (!this.states.delete(nodeId)) return;
    this.changed.delete(nodeId);
    this.removed.add(nodeId);
  }
}

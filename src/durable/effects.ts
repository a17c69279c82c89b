import type { OutboxEntry } from "./outbox-entry.js";
import type { AttemptEnd } from "./reputation/index.js";

/** What the state machine saw a node do, for its reputation. */
export type NodeEvent =
  /** `incident`: the one loss of the node it ended in, when the node-loss pass ended it. */
  | { kind: "attempt"; nodeId: string; end: AttemptEnd; at: number; incident?: string }
  | { kind: "ack"; nodeId: string; latencyMs: number; at: number }
  | { kind: "online" | "offline"; nodeId: string; at: number }
  /** Its held connection dropped and it came back within the reconnect window. */
  | { kind: "flap"; nodeId: string; at: number };

/** Writes and notifications a step of the region's state machine produced, for the Durable Object shell to carry out. */
export interface Effects {
  puts: Map<string, unknown>;
  deletes: Set<string>;
  outbox: OutboxEntry[];
  /** Nodes whose held poll should answer now (new work, or something to stop). */
  wake: Set<string>;
}

export function noEffects(): Effects {
  return { puts: new Map(), deletes: new Set(), outbox: [], wake: new Set() };
}

/**
 * Where the parts of the state machine stage what a step changed. One instance is handed to every
 * part at construction; the state drains it once per step. Node events are kept apart: the state
 * consumes them itself (standing, then re-indexing, then a scheduling pass) before the step ends.
 */
export class Staging {
  private effects = noEffects();
  private events: NodeEvent[] = [];
  /** Something changed that may let a queued job place: the step ends with a scheduling pass. */
  schedulePass = false;

  put(key: string, value: unknown): void {
    this.effects.deletes.delete(key);
    this.effects.puts.set(key, value);
  }

  delete(key: string): void {
    this.effects.puts.delete(key);
    this.effects.deletes.add(key);
  }

  /** Drops a put staged earlier in this step (the record is gone before it was ever written). */
  unput(key: string): void {
    this.effects.puts.delete(key);
  }

  record(...entries: OutboxEntry[]): void {
    this.effects.outbox.push(...entries);
  }

  wake(nodeId: string): void {
    this.effects.wake.add(nodeId);
  }

  event(event: NodeEvent): void {
    this.events.push(event);
  }

  takeEvents(): NodeEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  drain(): Effects {
    const out = this.effects;
    this.effects = noEffects();
    return out;
  }
}

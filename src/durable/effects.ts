import type { OutboxEntry } from "./outbox-entry.js";
import type { AttemptEnd } from "./reputation/index.js";

/** What the state machine saw a node do, for its reputation. */
export type NodeEvent =
  | { kind: "attempt"; nodeId: string; end: AttemptEnd; at: number }
  | { kind: "ack"; nodeId: string; latencyMs: number; at: number }
  | { kind: "online" | "offline"; nodeId: string; at: number };

/** Writes and notifications a step of the region's state machine produced, for the Durable Object shell to carry out. */
export interface Effects {
  puts: Map<string, unknown>;
  deletes: Set<string>;
  outbox: OutboxEntry[];
  /** Nodes whose held poll should answer now (new work, or something to stop). */
  wake: Set<string>;
  nodeEvents: NodeEvent[];
}

export function noEffects(): Effects {
  return { puts: new Map(), deletes: new Set(), outbox: [], wake: new Set(), nodeEvents: [] };
}

/** `b` after `a`: a later put wins over an earlier delete of the same key, and the other way round. */
export function mergeEffects(a: Effects, b: Effects): Effects {
  for (const [key, value] of b.puts) {
    a.deletes.delete(key);
    a.puts.set(key, value);
  }
  for (const key of b.deletes) {
    a.puts.delete(key);
    a.deletes.add(key);
  }
  a.outbox.push(...b.outbox);
  for (const nodeId of b.wake) a.wake.add(nodeId);
  a.nodeEvents.push(...b.nodeEvents);
  return a;
}

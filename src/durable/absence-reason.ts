import type { Absence } from "./node-presence.js";

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** What a job's event says about a node taken for gone. */
export function absenceReason(absence: Absence): string {
  if (absence.kind === "dropped")
    return `connection to node ${absence.nodeId} dropped and did not return within ${seconds(absence.windowMs)}`;
  const ratio = Math.max(1, Math.round(absence.silentMs / Math.max(absence.usualGapMs, 1)));
  return `node ${absence.nodeId} silent for ${seconds(absence.silentMs)}, ${ratio}× its usual gap`;
}

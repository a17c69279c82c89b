import type { AgentLog } from "../../src/agent/agent-log.js";

/** A collecting log, so a failure shows what an in-process agent said. */
export function collectingLog(): AgentLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

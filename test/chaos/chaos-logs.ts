import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** Writes every process's whole output to a folder kept after the run, for a failure's reader. */
export function dumpLogs(seed: number, plane: string, agents: readonly string[]): string {
  const dir = path.join(tmpdir(), `meridian-chaos-logs-${seed}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "control-plane.log"), plane);
  agents.forEach((text, i) => {
    writeFileSync(path.join(dir, `agent-${i}.log`), text);
  });
  return dir;
}

import type { AgentLog } from "./agent-log.js";
import type { ContainerRuntime } from "./container-runtime.js";

/**
 * Whether the node's container engine answers, looked at before each poll. While it does not, the
 * node takes no new work (it polls with `acceptingWork: false`, so its running attempts keep their
 * leases): an attempt handed to it could only fail, as the node's fault. Logged once when it stops
 * answering and once when it is back; then `onBack` runs (the work loop reclaims the containers the
 * outage left behind: an attempt that ended while the engine was down could not remove its own).
 */
/** An engine that takes longer than this to answer a ping is taken as not answering (a wedged one). */
const PING_TIMEOUT_MS = 5_000;

export class EngineHealth {
  private down = false;

  constructor(
    private readonly runtime: Pick<ContainerRuntime, "ping" | "location">,
    private readonly log: AgentLog,
  ) {}

  async answers(onBack: () => Promise<void>): Promise<boolean> {
    const { runtime, log } = this;
    let timer: NodeJS.Timeout | undefined;
    const up = await Promise.race([
      runtime.ping(),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!up && !this.down) {
      log.error(
        `the node's container engine at ${runtime.location} does not answer: taking no new work until it is back`,
      );
    } else if (up && this.down) {
      log.info(`the container engine at ${runtime.location} answers again: taking work again`);
      await onBack();
    }
    this.down = !up;
    return up;
  }
}

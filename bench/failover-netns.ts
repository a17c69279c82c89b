/**
 * A network namespace per agent for bench:failover: the agent runs inside it and reaches the
 * control plane over a veth pair, through a plain TCP relay on the host end (wrangler dev listens
 * on 127.0.0.1, which another namespace cannot reach). Faults are made on the link itself:
 *
 * - `partition()` drops every packet in the namespace (iptables DROP on INPUT and OUTPUT): no
 *   reset, no close reaches either side, as when a cable is cut or a route black-holes;
 * - `delay(ms, jitterMs)` slows the link both ways, as a congested or distant link: the relay holds
 *   each chunk that long before passing it on, in order. (The kernel's netem qdisc would be the
 *   natural tool, but this machine's kernel has no sch_netem and a container cannot load it.)
 *
 * For a partition the relay is only a wire joining the veth's host address to the loopback
 * listener: the dropped packets never reach it, so it cannot close anything on the agent's behalf.
 */
import { execFile } from "node:child_process";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

async function sh(cmd: string, args: string[]): Promise<void> {
  await run(cmd, args);
}

/** Null when this machine lets us make namespaces (root, iproute2, iptables); else why not. */
export async function netnsAvailable(): Promise<string | null> {
  const probe = `mfoprobe${process.pid % 10_000}`;
  try {
    await sh("ip", ["netns", "add", probe]);
    await sh("ip", ["netns", "exec", probe, "iptables", "-L", "-n"]);
    return null;
  } catch (error) {
    return error instanceof Error ? (error.message.split("\n")[0] ?? "failed") : String(error);
  } finally {
    await run("ip", ["netns", "del", probe]).catch(() => undefined);
  }
}

export class AgentNetns {
  readonly name: string;
  private readonly hostIf: string;
  private readonly nsIf: string;
  readonly hostIp: string;
  readonly nsIp: string;
  private relay: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private delayMs = 0;
  private jitterMs = 0;
  /** The control plane's URL as the agent inside the namespace addresses it. */
  url = "";

  /** `index` picks the /30 (10.217.index.0/30) and the names; unique per bench process. */
  constructor(index: number) {
    const tag = `${process.pid % 1000}x${index}`;
    this.name = `mfo-${tag}`;
    this.hostIf = `mfo${tag}h`;
    this.nsIf = `mfo${tag}a`;
    this.hostIp = `10.217.${index}.1`;
    this.nsIp = `10.217.${index}.2`;
  }

  async create(upstreamPort: number): Promise<void> {
    await sh("ip", ["netns", "add", this.name]);
    await sh("ip", ["link", "add", this.hostIf, "type", "veth", "peer", "name", this.nsIf]);
    await sh("ip", ["link", "set", this.nsIf, "netns", this.name]);
    await sh("ip", ["addr", "add", `${this.hostIp}/30`, "dev", this.hostIf]);
    await sh("ip", ["link", "set", this.hostIf, "up"]);
    const inNs = (args: string[]): Promise<void> => sh("ip", ["netns", "exec", this.name, ...args]);
    await inNs(["ip", "addr", "add", `${this.nsIp}/30`, "dev", this.nsIf]);
    await inNs(["ip", "link", "set", this.nsIf, "up"]);
    await inNs(["ip", "link", "set", "lo", "up"]);
    await this.linkUp();
    const relay = createServer((client) => {
      const upstream = createConnection({ host: "127.0.0.1", port: upstreamPort });
      this.sockets.add(client);
      this.sockets.add(upstream);
      const end = (): void => {
        // Chunks still held by a delay are delivered before the other side closes.
        setTimeout(
          () => {
            client.destroy();
            upstream.destroy();
            this.sockets.delete(client);
            this.sockets.delete(upstream);
          },
          this.delayMs === 0 ? 0 : this.delayMs + this.jitterMs + 10,
        );
      };
      client.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
      this.forward(client, upstream);
      this.forward(upstream, client);
    });
    this.relay = relay;
    await new Promise<void>((resolve) => relay.listen(0, this.hostIp, resolve));
    const address = relay.address();
    if (address === null || typeof address === "string") throw new Error("relay has no port");
    this.url = `http://${this.hostIp}:${address.port}`;
  }

  /** A fresh veth carries nothing until both ends report carrier (LOWER_UP); a few ms to a second. */
  private async linkUp(): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const { stdout } = await run("ip", ["-o", "link", "show", "dev", this.hostIf]);
      if (stdout.includes("LOWER_UP") && !stdout.includes("NO-CARRIER")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Carrier up is not yet forwarding on a loaded host: give it a moment more.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  /** Runs `argv` inside the namespace (the caller spawns it). */
  wrap(argv: string[]): string[] {
    return ["ip", "netns", "exec", this.name, ...argv];
  }

  async partition(): Promise<void> {
    await sh("ip", ["netns", "exec", this.name, "iptables", "-A", "INPUT", "-i", this.nsIf, "-j", "DROP"]);
    await sh("ip", ["netns", "exec", this.name, "iptables", "-A", "OUTPUT", "-o", this.nsIf, "-j", "DROP"]);
  }

  async heal(): Promise<void> {
    await sh("ip", ["netns", "exec", this.name, "iptables", "-F"]);
  }

  /** Slows both directions by `ms`, ± up to `jitterMs` (uniform), chunks kept in order. */
  delay(ms: number, jitterMs: number): void {
    this.delayMs = ms;
    this.jitterMs = jitterMs;
  }

  private forward(from: Socket, to: Socket): void {
    let lastAt = 0;
    from.on("data", (chunk: Buffer) => {
      if (this.delayMs === 0) {
        to.write(chunk);
        return;
      }
      const wanted = Date.now() + this.delayMs + (Math.random() * 2 - 1) * this.jitterMs;
      // A later chunk never overtakes an earlier one, as on one TCP stream.
      const at = Math.max(wanted, lastAt);
      lastAt = at;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, at - Date.now());
    });
    from.on("end", () => {
      const left = Math.max(0, lastAt - Date.now());
      setTimeout(() => to.end(), left);
    });
  }

  async destroy(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const relay = this.relay;
    if (relay) await new Promise<void>((resolve) => relay.close(() => resolve()));
    // Deleting the namespace deletes its veth end, and with it the host end.
    await run("ip", ["netns", "del", this.name]).catch(() => undefined);
    await run("ip", ["link", "del", this.hostIf]).catch(() => undefined);
  }
}

import { type ChildProcess, execFileSync, spawn } from "node:child_process";

/**
 * Two TCP servers outside the host's own network stack, standing in for "the internet" and "the
 * provider's LAN": a network namespace this test creates, joined to the host by one veth pair
 * that carries a documentation-range address (public-looking, 198.51.100.0/24) and a private one
 * (10.214.0.0/16). Traffic from a job network to either is forwarded by the host, exactly as it
 * would be to a real destination, so the egress rules are what decides. Only names and addresses
 * derived from this test's own id are touched.
 */
export class EgressTargets {
  readonly port = 8089;
  readonly publicAddress: string;
  readonly lanAddress: string;
  private readonly namespace: string;
  private readonly hostEnd: string;
  private readonly nsEnd: string;
  private readonly hostPublic: string;
  private readonly hostLan: string;
  private server: ChildProcess | undefined;

  constructor(id: string) {
    const n = Number.parseInt(id.replace(/\D/g, "").slice(-6) || "1", 10);
    this.namespace = `mrdt${n}`;
    this.hostEnd = `mrdh${n}`.slice(0, 15);
    this.nsEnd = `mrdn${n}`.slice(0, 15);
    const k = n % 63;
    this.hostPublic = `198.51.100.${4 * k + 1}`;
    this.publicAddress = `198.51.100.${4 * k + 2}`;
    this.hostLan = `10.214.${n % 256}.1`;
    this.lanAddress = `10.214.${n % 256}.2`;
  }

  start(): void {
    this.stop();
    const ip = (...args: string[]): void => {
      execFileSync("ip", args, { stdio: "pipe" });
    };
    ip("netns", "add", this.namespace);
    ip("link", "add", this.hostEnd, "type", "veth", "peer", "name", this.nsEnd);
    ip("link", "set", this.nsEnd, "netns", this.namespace);
    ip("addr", "add", `${this.hostPublic}/30`, "dev", this.hostEnd);
    ip("addr", "add", `${this.hostLan}/30`, "dev", this.hostEnd);
    ip("link", "set", this.hostEnd, "up");
    const inNs = (...args: string[]): void => ip("netns", "exec", this.namespace, "ip", ...args);
    inNs("addr", "add", `${this.publicAddress}/30`, "dev", this.nsEnd);
    inNs("addr", "add", `${this.lanAddress}/30`, "dev", this.nsEnd);
    inNs("link", "set", this.nsEnd, "up");
    inNs("link", "set", "lo", "up");
    this.server = spawn(
      "ip",
      [
        "netns",
        "exec",
        this.namespace,
        process.execPath,
        "-e",
        `require("node:net").createServer((s) => { s.on("error", () => {}); s.end("pong\\n"); }).listen(${this.port}, "0.0.0.0", () => console.log("up"))`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    // Wait until it listens (a bounded spin on a synchronous probe from inside the namespace).
    for (let tries = 0; tries < 50; tries++) {
      try {
        execFileSync(
          "ip",
          [
            "netns",
            "exec",
            this.namespace,
            process.execPath,
            "-e",
            `require("node:net").connect(${this.port}, "127.0.0.1").on("connect", () => process.exit(0)).on("error", () => process.exit(1))`,
          ],
          { stdio: "pipe", timeout: 5_000 },
        );
        return;
      } catch {
        execFileSync("sleep", ["0.1"]);
      }
    }
    throw new Error("the egress target server did not start");
  }

  stop(): void {
    this.server?.kill("SIGKILL");
    this.server = undefined;
    for (const args of [
      ["link", "del", this.hostEnd],
      ["netns", "del", this.namespace],
    ]) {
      try {
        execFileSync("ip", args, { stdio: "pipe" });
      } catch {
        // Not there: nothing to remove.
      }
    }
  }
}

import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import type { EgressPolicy } from "./policy/isolation-policy.js";

const exec = promisify(execFile);

/**
 * Every iptables call of this process, one after another. A busy host starts many jobs at once, and
 * each iptables process takes the kernel's table lock (`-w` waits for it) and walks the whole
 * ruleset: run side by side they pile up (over a hundred waiting at once were seen) and starve the
 * host. In a row, each is quick.
 */
let queue: Promise<unknown> = Promise.resolve();

function run(command: string, args: string[], input?: string): Promise<{ stdout: string }> {
  const next = queue.then(() => {
    const call = exec(command, args, { timeout: 30_000 });
    if (input !== undefined) call.child.stdin?.end(input);
    return call;
  });
  queue = next.catch(() => undefined);
  return next;
}

/**
 * Destinations a job on `internet` egress may not reach: the provider's LAN (RFC 1918), link-local
 * (cloud metadata services at 169.254.169.254), carrier-grade NAT, benchmarking, multicast and
 * reserved space. Public addresses stay reachable.
 */
export const PRIVATE_RANGES = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
] as const;

/** The comment that marks a rule as one job network's, so it can be found and removed. */
function tag(bridge: string): string {
  return `meridian:${bridge}`;
}

export class FirewallError extends Error {
  readonly code = "firewall_failed";
  constructor(message: string) {
    super(message);
    this.name = "FirewallError";
  }
}

export interface JobNetworkRules {
  /** The job network's Linux bridge (its interface name). */
  bridge: string;
  egress: EgressPolicy;
  /** The whole space job networks are carved from: no job reaches another job's subnet. */
  subnetPool: string;
}

/**
 * iptables rules that confine one job network beyond what Docker does by itself. Docker isolates
 * bridges from each other but lets a container reach every port the host binds on any address —
 * the agent's metrics port, a provider's SSH — and, with NAT, the provider's whole LAN. These
 * rules close both: INPUT from the bridge only carries replies to connections the host opened,
 * and DOCKER-USER (which Docker keeps first in FORWARD) drops what the egress policy forbids.
 * Rules are inserted with `-w` so concurrent agents wait for the xtables lock instead of failing.
 */
export class HostFirewall {
  constructor(private readonly iptables: string = "iptables") {}

  /** Whether rules can be installed here (iptables present and allowed), with the reason if not. */
  async usable(): Promise<{ ok: true } | { ok: false; why: string }> {
    try {
      await run(this.iptables, ["-w", "-S", "DOCKER-USER"]);
      return { ok: true };
    } catch (error) {
      return {
        ok: false,
        why: error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error),
      };
    }
  }

  async install(rules: JobNetworkRules): Promise<void> {
    const comment = ["-m", "comment", "--comment", tag(rules.bridge)];
    const inBridge = ["-i", rules.bridge];
    const dns = nameservers();
    // -I 1 puts each rule first, so they are inserted in reverse of the order they apply in.
    const input: string[][] = [
      [...inBridge, ...comment, "-j", "DROP"],
      ...dns.flatMap((server) =>
        ["udp", "tcp"].map((proto) => [
          ...inBridge,
          "-d",
          server,
          "-p",
          proto,
          "--dport",
          "53",
          ...comment,
          "-j",
          "ACCEPT",
        ]),
      ),
      [...inBridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", ...comment, "-j", "ACCEPT"],
    ];
    const forward: string[][] = [];
    if (rules.egress === "none") forward.push([...inBridge, ...comment, "-j", "DROP"]);
    if (rules.egress === "internet") {
      for (const range of PRIVATE_RANGES) forward.push([...inBridge, "-d", range, ...comment, "-j", "DROP"]);
      // RETURN, not ACCEPT: DNS to the host's resolvers goes on through Docker's own checks.
      for (const server of dns) {
        for (const proto of ["udp", "tcp"]) {
          forward.push([...inBridge, "-d", server, "-p", proto, "--dport", "53", ...comment, "-j", "RETURN"]);
        }
      }
    }
    // Whatever the policy, no job reaches another job network (Docker's bridge isolation, stated).
    forward.push([...inBridge, "!", "-o", rules.bridge, "-d", rules.subnetPool, ...comment, "-j", "DROP"]);
    try {
      await this.batch([
        ...input.map((rule) => ["-I", "INPUT", "1", ...rule]),
        ...forward.map((rule) => ["-I", "DOCKER-USER", "1", ...rule]),
      ]);
    } catch (error) {
      await this.remove(rules.bridge);
      throw new FirewallError(
        `could not install the job network's firewall rules (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); ` +
          'run the agent as root, or set isolation.firewall "off" to accept that jobs can reach the host\'s ports',
      );
    }
  }

  /** Removes every rule of one bridge; rules already gone are fine. */
  async remove(bridge: string): Promise<void> {
    const rules: string[][] = [];
    for (const chain of ["INPUT", "DOCKER-USER"]) {
      rules.push(...(await this.rulesOf(chain, (comment) => comment === tag(bridge))));
    }
    await this.deleteAll(rules);
  }

  /**
   * Removes the rules of job networks whose bridge no longer exists (an agent killed before it
   * cleaned up). A bridge exists from its network's creation until its removal, and rules are
   * installed after the one and removed before the other, so a live job's rules are never taken.
   */
  async removeOrphans(): Promise<number> {
    const orphans: string[][] = [];
    for (const chain of ["INPUT", "DOCKER-USER"]) {
      orphans.push(
        ...(await this.rulesOf(chain, (comment) => {
          const bridge = comment.slice("meridian:".length);
          return comment.startsWith("meridian:") && !existsSync(`/sys/class/net/${bridge}`);
        })),
      );
    }
    return this.deleteAll(orphans);
  }

  /**
   * Applies rule changes (`-I`/`-D` argument lists) to the filter table in one iptables-restore:
   * one process and one commit instead of one per rule, and all of them or none.
   */
  private async batch(changes: string[][]): Promise<void> {
    if (changes.length === 0) return;
    const lines = changes.map((words) => words.map(restoreWord).join(" "));
    await run(`${this.iptables}-restore`, ["-w", "--noflush"], `*filter\n${lines.join("\n")}\nCOMMIT\n`);
  }

  /** Deletes rules (chain name first), in one batch; one at a time if some are already gone. */
  private async deleteAll(rules: string[][]): Promise<number> {
    try {
      await this.batch(rules.map((rule) => ["-D", ...rule]));
      return rules.length;
    } catch {
      let removed = 0;
      for (const rule of rules) {
        await run(this.iptables, ["-w", "-D", ...rule]).then(
          () => removed++,
          () => undefined,
        );
      }
      return removed;
    }
  }

  /** The chain's rules whose comment passes, as argument lists for `-D` (chain name first). */
  private async rulesOf(chain: string, keep: (comment: string) => boolean): Promise<string[][]> {
    let listing: string;
    try {
      listing = (await run(this.iptables, ["-w", "-S", chain])).stdout;
    } catch {
      return [];
    }
    const rules: string[][] = [];
    for (const line of listing.split("\n")) {
      const words = line.trim().split(/\s+/);
      const at = words.indexOf("--comment");
      const comment = at >= 0 ? words[at + 1]?.replace(/^"|"$/g, "") : undefined;
      if (words[0] !== "-A" || comment === undefined || !keep(comment)) continue;
      rules.push(words.slice(1).map((word) => word.replace(/^"|"$/g, "")));
    }
    return rules;
  }
}

/** One word of a rule as iptables-restore reads it: quoted when it holds a space or a quote. */
function restoreWord(word: string): string {
  return /[\s"']/.test(word) ? `"${word.replace(/["\\]/g, "\\$&")}"` : word;
}

/** The host's IPv4 resolvers that are not loopback (Docker's embedded DNS forwards to them). */
function nameservers(): string[] {
  const found = new Set<string>();
  for (const path of ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"]) {
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    for (const match of text.matchAll(/^nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*$/gm)) {
      const address = match[1];
      if (address !== undefined && !address.startsWith("127.")) found.add(address);
    }
  }
  return [...found];
}

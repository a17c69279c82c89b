import { z } from "zod";

/**
 * Where a job container's traffic may go:
 * - `none`: nowhere (an internal network: no route off the host);
 * - `internet`: public addresses only — not the provider's LAN, not link-local (cloud metadata
 *   services), not carrier-grade NAT space;
 * - `all`: anywhere the host itself reaches.
 * In every mode the container cannot reach the host's own ports (the agent, metrics) nor any
 * other job's container.
 */
export const EgressPolicy = z.enum(["none", "internet", "all"]);
export type EgressPolicy = z.infer<typeof EgressPolicy>;

/** How strangers' containers are confined on this host (`isolation` in config.json). */
export const IsolationConfig = z
  .object({
    egress: EgressPolicy.default("internet"),
    /** The image's root filesystem read-only, with a private /tmp; images that write elsewhere break. */
    readOnlyRoot: z.boolean().default(false),
    /**
     * `image`: the user the image declares (often root, without any capability); `nonroot`: an image
     * that declares root (or nothing) runs as nobody (65534:65534) instead.
     */
    user: z.enum(["image", "nonroot"]).default("image"),
    /** Most processes (threads included) one job may have: a fork bomb stops here. */
    pidsLimit: z.number().int().min(64).max(1_000_000).default(4096),
    /**
     * `iptables`: the agent installs rules that keep job networks off the host's ports and, for
     * `internet`, off private ranges (needs root); `off`: Docker's own isolation only — a job can
     * reach ports the host binds on all addresses. Refusing to start jobs beats a silent hole, so
     * a host whose rules cannot be installed fails its attempts with the reason.
     */
    firewall: z.enum(["iptables", "off"]).default("iptables"),
    /** Address space job networks are carved from (one /28 each), kept off Docker's default pools. */
    subnetPool: z
      .string()
      .regex(/^(\d{1,3}\.){3}\d{1,3}\/(8|9|1[0-9]|2[0-4])$/, "an IPv4 CIDR like 10.213.0.0/16 (prefix 8-24)")
      .default("10.213.0.0/16"),
  })
  .strict();
export type IsolationConfig = z.infer<typeof IsolationConfig>;

export const DEFAULT_ISOLATION: IsolationConfig = IsolationConfig.parse({});
